// Presence through the server: awareness states reach the other clients and disappear when
// their connection goes away, whether it closes politely or dies.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

import { closeAll, freePort, provider, roomName, startServer, synced, tempDataDir, waitFor } from './helpers.js'

// The client-side awareness timeout is 30 s; everything below must happen well within it so
// that only the server's removal broadcast can make a state go away.
const GONE_WITHIN_MS = 8000

describe('awareness', () => {
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
  const connect = (room) => {
    return provider(server.url, room)
  }
  const nameAt = (p, clientID) => p.awareness.getStates().get(clientID)?.user?.name

  test('a state set by one client shows up at the other, and updates follow', async () => {
    const room = roomName('aw-show')
    const a = connect(room)
    const b = connect(room)
    await Promise.all([synced(a), synced(b)])
    a.awareness.setLocalStateField('user', { name: 'alice' })
    await waitFor(() => nameAt(b, a.doc.clientID) === 'alice', 'b to see alice')
    a.awareness.setLocalStateField('user', { name: 'alice2' })
    await waitFor(() => nameAt(b, a.doc.clientID) === 'alice2', 'b to see the renamed alice')
    // A client that joins later gets the states already there.
    const c = connect(room)
    await synced(c)
    await waitFor(() => nameAt(c, a.doc.clientID) === 'alice2', 'a late joiner to see alice')
  })

  test('a destroyed provider disappears from the other client', async () => {
    const room = roomName('aw-destroy')
    const a = connect(room)
    const b = connect(room)
    await Promise.all([synced(a), synced(b)])
    a.awareness.setLocalStateField('user', { name: 'alice' })
    await waitFor(() => nameAt(b, a.doc.clientID) === 'alice', 'b to see alice')
    a.destroy()
    await waitFor(() => !b.awareness.getStates().has(a.doc.clientID), 'alice to disappear at b', GONE_WITHIN_MS)
  })

  test('a client whose socket is cut without a goodbye disappears from the other client', async () => {
    const room = roomName('aw-cut')
    const a = connect(room)
    const b = connect(room)
    await Promise.all([synced(a), synced(b)])
    a.awareness.setLocalStateField('user', { name: 'alice' })
    await waitFor(() => nameAt(b, a.doc.clientID) === 'alice', 'b to see alice')
    // No awareness "null" message: just drop the TCP connection and never come back.
    a.shouldConnect = false
    a.ws.terminate()
    await waitFor(() => !b.awareness.getStates().has(a.doc.clientID), 'alice to disappear at b', GONE_WITHIN_MS)
    assert.equal(b.wsconnected, true, 'b lost its own connection')
  })

  test('a client process killed with SIGKILL disappears from the other client', async () => {
    const room = roomName('aw-kill')
    const b = connect(room)
    await synced(b)
    const script = fileURLToPath(new URL('./fixtures/aware-client.js', import.meta.url))
    const child = spawn(process.execPath, [script, server.url, room, 'carol'], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      const [line] = await Promise.race([
        once(child.stdout, 'data'),
        new Promise((_resolve, reject) => setTimeout(() => reject(new Error('child client did not sync')), 10000))
      ])
      const { clientID } = JSON.parse(line.toString().split('\n')[0])
      await waitFor(() => nameAt(b, clientID) === 'carol', 'b to see carol')
      child.kill('SIGKILL')
      await once(child, 'exit')
      await waitFor(() => !b.awareness.getStates().has(clientID), 'carol to disappear at b', GONE_WITHIN_MS)
    } finally {
      child.kill('SIGKILL')
    }
  })
})
