/** Every Redis key lab uses beside BullMQ's own (which live under BULL_PREFIX). */
export const BULL_PREFIX = 'lab:bull'
/** the queue for jobs that require no labels; others are "runs@k=v,k=v" */
export const BASE_QUEUE = 'runs'
export const QUEUES_SET = 'lab:queues'
export const RUNS_ZSET = 'lab:runs'
export const WORKERS_SET = 'lab:workers'
/** how long payloads and finished runs are kept (seconds) */
export const KEEP_SECONDS = 7 * 24 * 3600

export const blobKey = (sha: string) => `lab:blob:${sha}`
export const runKey = (run: string) => `lab:run:${run}`
export const resultsKey = (run: string) => `lab:run:${run}:results`
export const cancelKey = (run: string) => `lab:run:${run}:cancelled`
export const eventsChannel = (run: string) => `lab:run:${run}:events`
export const workerKey = (id: string) => `lab:worker:${id}`

/** The queue a job goes to: one per set of required labels, so a worker takes only what it can run. */
export function queueFor(require: Record<string, string>): string {
  const parts = Object.entries(require)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
  return parts.length ? `${BASE_QUEUE}@${parts.join(',')}` : BASE_QUEUE
}

/** The labels a queue's name requires. */
export function labelsOfQueue(name: string): Record<string, string> | null {
  if (name === BASE_QUEUE) return {}
  if (!name.startsWith(`${BASE_QUEUE}@`)) return null
  const out: Record<string, string> = {}
  for (const p of name.slice(BASE_QUEUE.length + 1).split(',')) {
    const eq = p.indexOf('=')
    if (eq <= 0) return null
    out[p.slice(0, eq)] = p.slice(eq + 1)
  }
  return out
}

const LABEL = /^[a-z][a-z0-9._-]{0,31}=[A-Za-z0-9._-]{1,64}$/

/** KEY=VALUE flags → a map; one clear error for a bad one. */
export function parseLabels(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const l of list ?? []) {
    if (!LABEL.test(l)) throw Object.assign(new Error(`${flag} ${l}: not KEY=VALUE (key: lower-case letters, digits, . _ -; value: letters, digits, . _ -)`), {labelError: true})
    const eq = l.indexOf('=')
    out[l.slice(0, eq)] = l.slice(eq + 1)
  }
  return out
}
