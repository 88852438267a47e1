/**
 * The queue's address: redis://[user:pass@]HOST:PORT[/DB] or rediss:// (TLS), checked
 * before anything connects. The password never appears in output: every message shows
 * the address with it replaced by "***". Connections fail fast with one clear line
 * (wrong password, nothing listening, wrong DB) instead of retrying for ever.
 */
import type {ConnectionOptions} from 'bullmq'
import {Redis, type RedisOptions} from 'ioredis'

import {LabError} from '../errors.js'
import {BULL_PREFIX} from './keys.js'

export interface QueueAddress {
  /** the URL with any password replaced by *** */
  display: string
  options: RedisOptions
  tls: boolean
  hasPassword: boolean
}

export function parseQueueUrl(given: string | undefined): QueueAddress {
  const raw = given ?? process.env.LAB_QUEUE
  if (!raw) throw new LabError('queue-url', 'no queue given', {hint: 'pass --queue redis://[user:pass@]HOST:PORT[/DB] or set LAB_QUEUE'})
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw new LabError('queue-url', `--queue ${redact(raw)}: not a URL`, {hint: 'use redis://[user:pass@]HOST:PORT[/DB], or rediss:// for TLS'})
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new LabError('queue-url', `--queue: scheme "${u.protocol.replace(/:$/, '')}" is not redis or rediss`, {hint: 'use redis://[user:pass@]HOST:PORT[/DB], or rediss:// for TLS'})
  if (!u.hostname) throw new LabError('queue-url', '--queue: the URL has no host', {hint: 'e.g. redis://:PASSWORD@127.0.0.1:6379/0'})
  const port = u.port ? Number(u.port) : 6379
  const dbText = u.pathname.replace(/^\//, '')
  if (dbText !== '' && !/^\d{1,2}$/.test(dbText)) throw new LabError('queue-url', `--queue: database "${dbText}" is not a number 0–15`, {hint: 'the path of the URL is the Redis database number, e.g. /0'})
  if (u.search || u.hash) throw new LabError('queue-url', '--queue: the URL may not have a query or fragment', {hint: 'use redis://[user:pass@]HOST:PORT[/DB]'})
  const tls = u.protocol === 'rediss:'
  const password = u.password ? decodeURIComponent(u.password) : undefined
  const username = u.username ? decodeURIComponent(u.username) : undefined
  const host = u.hostname.replace(/^\[|\]$/g, '')
  return {
    display: redact(raw),
    tls,
    hasPassword: Boolean(password),
    options: {
      host,
      port,
      db: dbText ? Number(dbText) : 0,
      username,
      password,
      ...(tls ? {tls: {servername: host}} : {}),
      // BullMQ's blocking commands need these; connection loss is retried by ioredis
      maxRetriesPerRequest: null,
      enableReadyCheck: true,
      lazyConnect: true,
      connectionName: 'lab',
    },
  }
}

export function redact(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@')
}

/**
 * A connected client. `retry: false` (the CLI's first contact) turns the usual
 * reconnect loop into an immediate, explained failure.
 */
export async function connect(addr: QueueAddress, opts: {retry?: boolean; name?: string} = {}): Promise<Redis> {
  const client = new Redis({
    ...addr.options,
    connectionName: opts.name ?? 'lab',
    ...(opts.retry === false ? {retryStrategy: () => null, maxRetriesPerRequest: 1} : {retryStrategy: (n: number) => Math.min(200 * n, 2000)}),
  })
  let lastError: Error | undefined
  client.on('error', (e) => (lastError = e))
  try {
    await client.connect()
    await client.ping()
  } catch (e) {
    client.disconnect()
    throw explain(addr, (lastError ?? e) as Error)
  }
  return client
}

/** A Redis error as one line that says what to do. */
export function explain(addr: QueueAddress, e: Error): LabError {
  const msg = String(e?.message ?? e)
  if (/WRONGPASS|invalid username-password|NOAUTH|AUTH.*without any password/i.test(msg)) {
    return new LabError('queue-auth', `${addr.display}: the queue refused the credentials (${msg.split('\n')[0]})`, {hint: 'check the password (or ACL user) in the URL: redis://USER:PASSWORD@HOST:PORT'})
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection is closed/i.test(msg)) {
    return new LabError('queue-unreachable', `${addr.display}: cannot reach the queue (${msg.split('\n')[0]})`, {hint: 'is redis-server running there, and is the port right?'})
  }
  if (/DB index is out of range/i.test(msg)) return new LabError('queue-url', `${addr.display}: no such database`, {hint: 'Redis has databases 0–15 unless configured otherwise'})
  return new LabError('queue-error', `${addr.display}: ${msg.split('\n')[0]}`, {hint: 'check the Redis server\'s log'})
}

/**
 * BullMQ options for a queue or worker on the same server as `redis`: connection
 * settings, not a shared client, so BullMQ opens its own and closes them with it.
 */
export function bullOptions(redis: Redis): {connection: ConnectionOptions; prefix: string} {
  const o = redis.options
  return {
    connection: {host: o.host, port: o.port, db: o.db, username: o.username, password: o.password, tls: o.tls, maxRetriesPerRequest: null, retryStrategy: (n: number) => Math.min(200 * n, 2000), connectionName: o.connectionName} as unknown as ConnectionOptions,
    prefix: BULL_PREFIX,
  }
}
