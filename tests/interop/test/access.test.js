// A viewer with a stock client: an owner makes a private room and a viewer invite link over
// HTTP; a stock WebsocketProvider joining with the link's `{invite, name}` params syncs and
// sees the editor's text, its own edits are refused with the Yjs permission-denied message
// (the editor's document and the server's never hold them), and its presence reaches the editor.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'

import { closeAll, freePort, provider, startServer, synced, tempDataDir, waitFor, Y } from './helpers.js'

const PASSWORD = 'correct horse battery'

describe('access with stock clients', () => {
  let server, data, http
  before(async () => {
    data = tempDataDir()
    server = await startServer({ port: await freePort(), dataDir: data.dir })
    http = `http://127.0.0.1:${server.port}`
  })
  after(async () => {
    closeAll()
    await server?.stop()
    data?.cleanup()
  })

  /** A JSON request; fails the test on any status but `expect`. */
  const call = async (method, path, { body, cookie, token, expect = 200 } = {}) => {
    const headers = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (cookie) headers.cookie = cookie
    if (token) headers.authorization = `Bearer ${token}`
    const res = await fetch(`${http}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.text()
    assert.equal(res.status, expect, `${method} ${path}: ${text}`)
    return { json: text ? JSON.parse(text) : null, headers: res.headers }
  }

  test("a viewer syncs and is seen, and its edits reach nobody's document", async () => {
    // The owner: an account, a private room, an API token for its own stock client, a viewer link.
    const signup = await call('POST', '/api/auth/signup', { body: { username: 'olive', password: PASSWORD } })
    const cookie = signup.headers.get('set-cookie').split(';')[0]
    const { json: { room } } = await call('POST', '/api/rooms', { cookie, body: { visibility: 'private' }, expect: 201 })
    const { json: { token } } = await call('POST', '/api/tokens', { cookie, body: { name: 'interop' }, expect: 201 })
    const { json: link } = await call('POST', `/api/rooms/${room}/invites`, { cookie, body: { role: 'viewer' }, expect: 201 })
    assert.equal(link.url, `/r/${room}?invite=${link.token}`)

    const editor = provider(server.url, room, undefined, { params: { token } })
    await synced(editor)
    const editorText = () => editor.doc.getMap('files').get('main.py')?.toString() ?? ''
    await waitFor(() => editor.doc.getMap('files').get('main.py') !== undefined, 'the new room to have main.py')
    editor.doc.getMap('files').get('main.py').insert(0, 'print("from the editor")\n')

    // Without the link the room does not exist for a stranger; with it, the viewer is in.
    const stranger = await fetch(`${http}/api/rooms/${room}/state`)
    assert.equal(stranger.status, 404)

    // The stock client reports a permission-denied auth message with console.warn.
    const denied = []
    const warn = console.warn
    console.warn = (...args) => {
      const text = args.join(' ')
      if (/Permission denied/.test(text)) denied.push(text)
      else warn(...args)
    }
    try {
      const viewer = provider(server.url, room, undefined, { params: { invite: link.token, name: 'Vic' } })
      await synced(viewer)
      const viewerText = () => viewer.doc.getMap('files').get('main.py')?.toString() ?? ''
      await waitFor(() => viewerText() === 'print("from the editor")\n', "the viewer to see the editor's text")

      // Its presence reaches the editor.
      viewer.awareness.setLocalStateField('user', { name: 'Vic' })
      await waitFor(() => editor.awareness.getStates().get(viewer.doc.clientID)?.user?.name === 'Vic', 'the editor to see the viewer')

      // Its own edits: refused, each said with the auth message.
      viewer.doc.getMap('files').get('main.py').insert(0, 'VIEWER WAS HERE\n')
      viewer.doc.getMap('files').set('stolen.py', new Y.Text('x = 1'))
      await waitFor(() => denied.length >= 2, 'two permission-denied messages')
      assert.match(denied[0], /read-only|viewer/)

      // A fence from the editor: once the viewer sees it, everything it sent before was handled.
      editor.doc.getMap('files').get('main.py').insert(editorText().length, '# fence\n')
      await waitFor(() => viewerText().includes('# fence'), 'the viewer to see the fence')
      const expected = 'print("from the editor")\n# fence\n'
      await waitFor(() => editorText() === expected, "the editor's own text")
      assert.ok(!editor.doc.getMap('files').has('stolen.py'), "no file of the viewer's at the editor")
      const { json: state } = await call('GET', `/api/rooms/${room}/state`, { token })
      assert.deepEqual(Object.keys(state.files), ['main.py'])
      assert.equal(state.files['main.py'], expected, "the server's document never had the viewer's text")
      // A client joining now gets the server's document: nothing of the viewer's.
      const late = provider(server.url, room, undefined, { params: { token } })
      await synced(late)
      await waitFor(() => late.doc.getMap('files').get('main.py')?.toString() === expected, 'the late joiner to see the document')
      assert.ok(!late.doc.getMap('files').has('stolen.py'))
      // The connection stays open: a viewer keeps watching after a refusal.
      assert.equal(viewer.wsconnected, true)
      // And the server says the viewer is a viewer guest.
      const { json: people } = await call('GET', `/api/rooms/${room}/people`, { token })
      assert.deepEqual(people.people.find((p) => p.client === viewer.doc.clientID), { client: viewer.doc.clientID, role: 'viewer', kind: 'guest' })
    } finally {
      console.warn = warn
    }
  })
})
