// Shared set-up for the interop tests: start `peercode serve` as a real process on a free
// port with its own data dir, and make stock y-websocket providers that talk to it.

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'

import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

/** Path of the WebSocket route, `/ws` per SPEC §2. Overridable only to prove the tests can fail. */
const WS_PATH = process.env.PEERCODE_WS_PATH ?? '/ws'

/** A free TCP port on loopback (closed again before the server binds it). */
export async function freePort () {
  const srv = net.createServer()
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const { port } = srv.address()
  srv.close()
  await once(srv, 'close')
  return port
}

/** A fresh temp data dir, removed by the returned cleanup function. */
export function tempDataDir () {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peercode-interop-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * `peercode serve` from `$PEERCODE_BIN` on `port` with `dataDir` (and `args`, more flags of
 * `peercode serve`). Resolves once `GET /healthz`
 * answers 200. `INTEROP_REFERENCE_SERVER=path/to/y-websocket/bin/server.cjs` runs the Node
 * reference server instead (it keeps nothing across restarts; for checking the tests themselves).
 */
export async function startServer ({ port, dataDir, args = [] }) {
  const reference = process.env.INTEROP_REFERENCE_SERVER
  let child
  if (reference) {
    child = spawn(process.execPath, [reference], {
      env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe']
    })
  } else {
    const bin = process.env.PEERCODE_BIN
    if (!bin) throw new Error('PEERCODE_BIN is not set: point it at a built `peercode` binary')
    child = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...args], {
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
  }
  let log = ''
  const keep = (chunk) => { log = (log + chunk.toString()).slice(-8000) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exited = null
  child.on('exit', (code, signal) => { exited = { code, signal } })

  const deadline = Date.now() + 20000
  for (;;) {
    if (exited) throw new Error(`server exited before it was ready (${JSON.stringify(exited)}):\n${log}`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (res.status === 200) break
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`server not healthy within 20 s:\n${log}`)
    }
    await sleep(25)
  }

  return {
    port,
    url: reference ? `ws://127.0.0.1:${port}` : `ws://127.0.0.1:${port}${WS_PATH}`,
    log: () => log,
    /** Stop the process with `signal` and wait until it has exited. */
    async stop (signal = 'SIGTERM') {
      if (exited) return exited
      const done = once(child, 'exit')
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000)
      await done
      clearTimeout(timer)
      return exited
    }
  }
}

/** A stock WebsocketProvider (ws as the polyfill, no BroadcastChannel shortcut between providers). */
export function provider (url, room, doc = new Y.Doc(), opts = {}) {
  const p = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true,
    maxBackoffTime: 500,
    ...opts
  })
  live.add(p)
  return p
}

const live = new Set()

/** Destroy every provider made so far with its awareness timer and doc, so the process can exit. */
export function closeAll () {
  for (const p of live) {
    p.destroy()
    p.awareness.destroy()
    p.doc.destroy()
  }
  live.clear()
}

/** Poll `predicate` every 10 ms until it holds; reject with `what` after `timeoutMs`. */
export async function waitFor (predicate, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** Resolve when `p` has synced with the server (first sync step 2 received). */
export function synced (p, timeoutMs = 10000) {
  return waitFor(() => p.synced, `provider for ${p.roomname} to sync`, timeoutMs)
}

/** A room name no other test uses. */
export function roomName (prefix) {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
}

export { Y }
