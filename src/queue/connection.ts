/**
 * Connections to the queue (its address is parsed in address.ts). They fail fast with one
 * clear line (wrong password, nothing listening, wrong DB) instead of retrying for ever.
 */
import type {ConnectionOptions} from 'bullmq'
import {Redis} from 'ioredis'

import {LabError} from '../errors.js'
import {BULL_PREFIX} from './keys.js'

export {parseQueueUrl, redact, type QueueAddress} from './address.js'
import {redact, type QueueAddress} from './address.js'

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
