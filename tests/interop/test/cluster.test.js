// Instances sharing rooms (`--redis-url`): stock providers reach two `peercode serve`
// processes through haproxy, as a deployment would run them. They converge as on one
// server, see each other's presence, and when the instance serving the room is SIGKILLed
// they reconnect through the balancer by themselves and lose nothing — neither what any
// of them had received nor their own edits still in flight.

import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { Y, closeAll, freePort, provider, roomName, startServer, synced, tempDataDir, waitFor } from './helpers.js'

const DATABASE = process.env.PEERCODE_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test'

/** A child process that is killed at the end; resolves once `ready()` holds. */
function child (cmd, args, cleanups) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  proc.stderr.on('data', (c) => { log = (log + c.toString()).slice(-4000) })
  proc.on('error', (e) => { log += `\n${cmd}: ${e.message}` })
  cleanups.push(() => proc.kill('SIGKILL'))
  return { proc, log: () => log }
}

async function httpOk (url) {
  try { return (await fetch(url)).status === 200 } catch { return false }
}

async function metric (port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.split(' ')[1]) : NaN
}

describe('instances sharing rooms behind a balancer', () => {
  const cleanups = []
  after(async () => {
    closeAll()
    for (const f of cleanups.reverse()) await f()
  })

  test('stock providers on two instances converge and survive the owner\'s SIGKILL', async () => {
    // Redis of our own with its AOF, PostgreSQL in a fresh schema, two instances, haproxy.
    const redisDir = mkdtempSync(path.join(os.tmpdir(), 'peercode-redis-'))
    cleanups.push(() => rmSync(redisDir, { recursive: true, force: true }))
    const redisPort = await freePort()
    child('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir,
      '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], cleanups)
    const schema = `peercode_interop_cluster_${process.pid}`
    const dropSchema = () => spawnSync('psql', [DATABASE, '-qc', `DROP SCHEMA IF EXISTS ${schema} CASCADE`])
    dropSchema()
    cleanups.push(dropSchema)
    await waitFor(() => spawnSync('redis-cli', ['-p', String(redisPort), 'ping']).stdout?.toString().trim() === 'PONG',
      'redis-server to answer')

    const args = ['--database-url', `${DATABASE}?schema=${schema}`, '--redis-url', `redis://127.0.0.1:${redisPort}`,
      '--instance-ttl-ms', '1000', '--room-lease-ms', '3000']
    const instances = []
    for (let i = 0; i < 2; i++) {
      const data = tempDataDir()
      cleanups.push(data.cleanup)
      const server = await startServer({ port: await freePort(), dataDir: data.dir, args })
      cleanups.push(() => server.stop('SIGKILL'))
      instances.push(server)
    }
    const lbPort = await freePort()
    const config = path.join(redisDir, 'haproxy.cfg')
    writeFileSync(config, [
      'global', '    maxconn 1000',
      'defaults', '    mode http', '    timeout connect 1s', '    timeout client 60s', '    timeout server 60s',
      '    timeout tunnel 1h', '    option redispatch', '    retries 3',
      'frontend front', `    bind 127.0.0.1:${lbPort}`, '    default_backend peercode',
      'backend peercode', '    balance roundrobin', '    option httpchk GET /healthz',
      ...instances.map((s, i) => `    server s${i} 127.0.0.1:${s.port} check inter 200ms fall 1 rise 1`),
      ''
    ].join('\n'))
    const lb = child('haproxy', ['-db', '-f', config], cleanups)
    await waitFor(() => lb.proc.exitCode === null, 'haproxy to start')
    const lbUrl = `ws://127.0.0.1:${lbPort}/ws`
    // haproxy answers once both backends passed a health check.
    for (let i = 0; i < 100 && !(await httpOk(`http://127.0.0.1:${lbPort}/healthz`)); i++) await sleep(50)

    const room = roomName('cluster')
    // Round robin: consecutive connections land on different instances.
    const a = provider(lbUrl, room)
    await synced(a)
    const b = provider(lbUrl, room)
    const watcher = provider(lbUrl, room)
    await Promise.all([synced(b), synced(watcher)])
    const forwarded = (await metric(instances[0].port, 'peercode_forwarded_total')) +
      (await metric(instances[1].port, 'peercode_forwarded_total'))
    assert.ok(forwarded >= 1, `some connection was forwarded between instances (${forwarded})`)

    a.doc.getText('t').insert(0, 'A')
    b.doc.getText('t').insert(0, 'B')
    await waitFor(() => ['A', 'B'].every((s) => watcher.doc.getText('t').toString().includes(s)), 'edits to cross instances')
    // Presence crosses instances too.
    b.awareness.setLocalStateField('user', { name: 'Bea' })
    await waitFor(() => [...a.awareness.getStates().values()].some((s) => s.user?.name === 'Bea'), 'a to see b\'s presence')

    // Both type; mid-way, the instance that owns the room is SIGKILLed.
    const owned = await Promise.all(instances.map((s) => metric(s.port, 'peercode_rooms_owned')))
    const owner = instances[owned.indexOf(1)]
    assert.ok(owner, `one instance owns the room (${owned})`)
    let received = null
    for (let i = 0; i < 150; i++) {
      a.doc.getText('t').insert(a.doc.getText('t').length, `a${i};`)
      b.doc.getText('t').insert(b.doc.getText('t').length, `b${i};`)
      if (i === 100) {
        await owner.stop('SIGKILL')
        received = Y.encodeStateVector(watcher.doc)
      }
      await sleep(2)
    }
    // The providers reconnect through the balancer to the survivor by themselves; their
    // resync carries every edit, including the ones the dead owner never committed.
    const want = (doc) => [...Array(150).keys()].every((i) => {
      const t = doc.getText('t').toString()
      return t.includes(`a${i};`) && t.includes(`b${i};`)
    })
    await waitFor(() => want(a.doc) && want(b.doc) && want(watcher.doc), 'every keystroke everywhere after the failover', 30000)
    const fresh = provider(lbUrl, room)
    await synced(fresh, 20000)
    const now = Y.decodeStateVector(Y.encodeStateVector(fresh.doc))
    for (const [client, clock] of Y.decodeStateVector(received)) {
      assert.ok((now.get(client) ?? 0) >= clock, `the survivor has everything the watcher had received (client ${client})`)
    }
    await waitFor(() => fresh.doc.getText('t').toString() === a.doc.getText('t').toString(), 'a fresh client to see it all', 20000)
  })
})
