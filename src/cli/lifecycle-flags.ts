/** Flags shared by the lifecycle commands (lab sandbox ps/stop/rm…, lab volume …, lab system prune). */
import {Flags} from '@oclif/core'

import '../network/register.js'
import {lifecycle, type Lifecycle} from '../sandbox/lifecycle.js'

export const stateDirFlag = {
  'state-dir': Flags.string({description: 'where sandboxes, logs and volumes are kept (default /var/lib/lab and /run/lab as root; env LAB_STATE_DIR)', helpValue: 'DIR'}),
}

export function engine(flags: {'state-dir'?: string}): Lifecycle {
  return lifecycle({stateDir: flags['state-dir']})
}

/** Prints rows as aligned columns (docker's table style). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}
