// Durability across server restarts: the document outlives the process, reconnecting providers
// carry on, and a SIGKILL loses nothing that any client had already received (SPEC §4).

import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'

import { Y, closeAll, freePort, provider, roomName, startServer, synced, tempDataDir, waitFor } from './helpers.js'

describe('persistence', () => {
  const cleanups = []
  after(async () => {
    closeAll()
    for (const f of cleanups.reverse()) await f()
  })

  test('after a restart a new client sees the text, and a reconnecting provider carries on', async () => {
    const data = tempDataDir()
    cleanups.push(data.cleanup)
    const port = await freePort()
    let server = await startServer({ port, dataDir: data.dir })
    cleanups.push(() => server.stop('SIGKILL'))
    const room = roomName('restart')

    const a = provider(server.url, room)
    const b = provider(server.url, room)
    await Promise.all([synced(a), synced(b)])
    a.doc.getText('t').insert(0, 'fn main() {\n')
    await waitFor(() => b.doc.getText('t').length > 0, 'b to see a\'s text')
    b.doc.getText('t').insert(0, '// shared\n')
    const expected = '// shared\nfn main() {\n'
    await waitFor(() => a.doc.getText('t').toString() === expected && b.doc.getText('t').toString() === expected,
      'a and b to converge before the restart')

    // Nobody may re-upload the document after the restart until a fresh client has looked, or
    // the check would pass without the server keeping anything.
    a.disconnect()
    b.destroy()
    await server.stop('SIGTERM')
    server = await startServer({ port, dataDir: data.dir })

    const c = provider(server.url, room)
    await synced(c)
    assert.equal(c.doc.getText('t').toString(), expected, 'a fresh client after the restart')

    // The old provider reconnects with its own copy: no duplication, and edits flow both ways.
    a.connect()
    await synced(a)
    a.doc.getText('t').insert(a.doc.getText('t').length, '}\n')
    await waitFor(() => c.doc.getText('t').toString() === expected + '}\n', 'c to see a\'s edit after reconnect')
    c.doc.getText('t').insert(0, '#')
    await waitFor(() => a.doc.getText('t').toString() === '#' + expected + '}\n', 'a to see c\'s edit')

    // And providers left connected through a crash reconnect by themselves.
    await server.stop('SIGKILL')
    server = await startServer({ port, dataDir: data.dir })
    await waitFor(() => a.synced && c.synced, 'both providers to reconnect by themselves', 15000)
    a.doc.getText('t').insert(0, '!')
    await waitFor(() => c.doc.getText('t').toString() === '!#' + expected + '}\n', 'edits to flow after the crash')
  })

  // The server makes an update durable in its journal before broadcasting it and copies
  // the journal into SQLite in batches; the second case makes those batches wait longer
  // than the test, so every keystroke the observer saw exists only in the journal when
  // the server is killed, and the restart must copy it into the database.
  for (const [what, args] of [
    ['', []],
    [', none of it copied from the journal into the database yet', ['--commit-window-us', '600000000']]
  ]) {
    test(`SIGKILL while a client types: every update the other client received survives${what}`, async () => {
      await sigkillWhileTyping(args)
    })
  }

  async function sigkillWhileTyping (args) {
    const data = tempDataDir()
    cleanups.push(data.cleanup)
    const port = await freePort()
    let server = await startServer({ port, dataDir: data.dir, args })
    cleanups.push(() => server.stop('SIGKILL'))
    const room = roomName('sigkill')

    const writer = provider(server.url, room)
    const observer = provider(server.url, room)
    await Promise.all([synced(writer), synced(observer)])

    // The writer appends one character at a time, as fast as a fast typist and then some.
    let typing = true
    let typed = 0
    const typist = (async () => {
      const t = writer.doc.getText('t')
      while (typing) {
        t.insert(t.length, String.fromCharCode(97 + (typed % 26)))
        typed++
        await sleep(1)
      }
    })()
    await waitFor(() => observer.doc.getText('t').length >= 300, 'the observer to receive 300 keystrokes')
    await server.stop('SIGKILL')
    typing = false
    await typist

    // What the observer had seen when the server died.
    const seenText = observer.doc.getText('t').toString()
    const seenSv = Y.decodeStateVector(Y.encodeStateVector(observer.doc))
    // Neither client may bring the document back: only what the server committed counts.
    writer.destroy()
    observer.destroy()

    server = await startServer({ port, dataDir: data.dir })
    const fresh = provider(server.url, room)
    await synced(fresh)
    const got = fresh.doc.getText('t').toString()
    const gotSv = Y.decodeStateVector(Y.encodeStateVector(fresh.doc))
    for (const [client, clock] of seenSv) {
      assert.ok((gotSv.get(client) ?? 0) >= clock,
        `client ${client}: observer had seen clock ${clock}, server kept ${gotSv.get(client) ?? 0}`)
    }
    assert.ok(got.startsWith(seenText),
      `server lost text the observer had seen: observer had ${seenText.length} chars, server has ${got.length}`)
    assert.ok(writer.doc.getText('t').toString().startsWith(got), 'server holds text the writer never typed')
  }
})
