// Document sync between stock y-websocket 3.x providers through `peercode serve`.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'

import { Y, closeAll, freePort, provider, roomName, startServer, synced, tempDataDir, waitFor } from './helpers.js'

describe('sync', () => {
  let server, data
  before(async () => {
    data = tempDataDir()
    server = await startServer({ port: await freePort(), dataDir: data.dir })
  })
  after(async () => {
    closeAll()
    await server?.stop()
    data?.cleanup()
  })
  const connect = (room, doc) => {
    return provider(server.url, room, doc)
  }

  test('a client that joins later receives the document', async () => {
    const room = roomName('late-join')
    const a = connect(room)
    await synced(a)
    a.doc.getText('t').insert(0, 'hello from a')
    const b = connect(room)
    await synced(b)
    await waitFor(() => b.doc.getText('t').toString() === 'hello from a', 'b to see a\'s text')
  })

  test('updates reach the other client live, both ways', async () => {
    const room = roomName('live')
    const a = connect(room)
    const b = connect(room)
    await Promise.all([synced(a), synced(b)])
    a.doc.getText('t').insert(0, 'ping')
    await waitFor(() => b.doc.getText('t').toString() === 'ping', 'b to see ping')
    b.doc.getText('t').insert(4, ' pong')
    await waitFor(() => a.doc.getText('t').toString() === 'ping pong', 'a to see pong')
  })

  test('two providers typing concurrently into one Y.Text converge with no lost characters', async () => {
    const room = roomName('concurrent')
    const a = connect(room)
    const b = connect(room)
    await Promise.all([synced(a), synced(b)])
    const perClient = 400
    // Each client types at random positions of its own current view, in small bursts, so that
    // many updates cross each other in flight. a types lowercase, b uppercase.
    const type = async (p, alphabet, seed) => {
      const text = p.doc.getText('t')
      let x = seed
      for (let i = 0; i < perClient; i++) {
        x = (x * 1103515245 + 12345) % 2147483648
        text.insert(x % (text.length + 1), alphabet[i % alphabet.length])
        if (i % 4 === 3) await sleep(1)
      }
    }
    await Promise.all([
      type(a, 'abcdefghijklmnopqrstuvwxyz', 7),
      type(b, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 11)
    ])
    const ta = a.doc.getText('t')
    const tb = b.doc.getText('t')
    await waitFor(() => ta.length === 2 * perClient && tb.length === 2 * perClient,
      `both texts to hold ${2 * perClient} characters`, 15000)
    assert.equal(ta.toString(), tb.toString(), 'texts differ')
    const s = ta.toString()
    assert.equal(s.replace(/[^a-z]/g, '').length, perClient, 'characters typed by a lost')
    assert.equal(s.replace(/[^A-Z]/g, '').length, perClient, 'characters typed by b lost')
    // And the server holds the merged state: a third client gets exactly the same text.
    const c = connect(room)
    await synced(c)
    await waitFor(() => c.doc.getText('t').toString() === s, 'a new client to get the merged text')
  })

  test('rooms are isolated from each other', async () => {
    const a = connect(roomName('iso-a'))
    const b = connect(roomName('iso-b'))
    await Promise.all([synced(a), synced(b)])
    a.doc.getText('t').insert(0, 'only in room a')
    const c = connect(a.roomname)
    await synced(c)
    await waitFor(() => c.doc.getText('t').toString() === 'only in room a', 'same-room client to see it')
    assert.equal(b.doc.getText('t').toString(), '', 'update leaked into another room')
  })
})

