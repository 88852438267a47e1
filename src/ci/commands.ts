/**
 * Workflow commands: lines a step prints as `::NAME key=value,…::DATA` (GitHub's
 * runner reads them from stdout and stderr). Each step gets its own reader:
 *
 *   set-output, save-state   the deprecated forms of $GITHUB_OUTPUT / $GITHUB_STATE (with a warning)
 *   add-mask                 the value is masked from then on, in every log and report
 *   group / endgroup         shown as a heading line; the lines between are kept
 *   warning / error / notice annotations with file, line, endLine, col, endColumn, title
 *   debug                    shown only when ACTIONS_STEP_DEBUG is true
 *   stop-commands            no command is read until the line `::TOKEN::`
 *   echo                     on: command lines are also shown
 *   set-env / add-path       disabled as on GitHub (the step fails) unless
 *                            ACTIONS_ALLOW_UNSECURE_COMMANDS=true
 * Property values are escaped with %25 %0D %0A %3A %2C, data with %25 %0D %0A.
 */

export interface Annotation {
  level: 'warning' | 'error' | 'notice'
  message: string
  file?: string
  line?: number
  endLine?: number
  col?: number
  endColumn?: number
  title?: string
}

export interface CommandEffects {
  outputs: Record<string, string>
  state: Record<string, string>
  env: Record<string, string>
  path: string[]
  annotations: Annotation[]
  /** values to mask from now on */
  masks: string[]
  /** why the step must fail (a disabled command), as GitHub reports it */
  errors: string[]
  /** notes for the run's warnings (deprecated commands) */
  deprecations: Set<string>
}

const COMMAND = /^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$/s

function unescapeData(s: string): string {
  return s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%')
}

function unescapeProperty(s: string): string {
  return s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%3A/gi, ':').replace(/%2C/gi, ',').replace(/%25/g, '%')
}

function properties(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of (s ?? '').split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) out[part.slice(0, eq).trim()] = unescapeProperty(part.slice(eq + 1))
  }
  return out
}

const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined)

export class WorkflowCommands {
  readonly effects: CommandEffects = {outputs: {}, state: {}, env: {}, path: [], annotations: [], masks: [], errors: [], deprecations: new Set()}
  private stopToken: string | null = null
  private echo = false

  constructor(
    private readonly opts: {debug: boolean; allowUnsecure: boolean; onMask: (value: string) => void},
  ) {}

  /** Reads one line of output; returns the line to show, or null for none. */
  line(text: string): string | null {
    if (!text.startsWith('::')) return text
    if (this.stopToken !== null) {
      if (text !== `::${this.stopToken}::`) return text
      this.stopToken = null
      return this.echo ? text : null
    }
    const m = COMMAND.exec(text)
    if (!m) return text
    const [, rawName, props, rawData] = m
    const name = rawName.toLowerCase()
    const data = unescapeData(rawData)
    const p = properties(props)
    const shown = (s: string | null) => (this.echo ? text : s)
    const e = this.effects
    switch (name) {
      case 'set-output':
        if (p.name) e.outputs[p.name] = data
        e.deprecations.add('set-output')
        return shown(null)
      case 'save-state':
        if (p.name) e.state[p.name] = data
        e.deprecations.add('save-state')
        return shown(null)
      case 'add-mask':
        if (data.trim()) {
          e.masks.push(data)
          this.opts.onMask(data)
        }
        return shown(null)
      case 'group':
        return `▸ ${data}`
      case 'endgroup':
        return shown(null)
      case 'warning':
      case 'error':
      case 'notice': {
        const a: Annotation = {level: name, message: data}
        if (p.file) a.file = p.file
        if (int(p.line) !== undefined) a.line = int(p.line)
        if (int(p.endLine) !== undefined) a.endLine = int(p.endLine)
        if (int(p.col) !== undefined) a.col = int(p.col)
        if (int(p.endColumn) !== undefined) a.endColumn = int(p.endColumn)
        if (p.title) a.title = p.title
        e.annotations.push(a)
        const at = a.file ? `${a.file}${a.line ? `:${a.line}` : ''}${a.col ? `:${a.col}` : ''}: ` : ''
        return `${name}: ${at}${a.title ? `${a.title}: ` : ''}${data}`
      }
      case 'debug':
        return this.opts.debug ? `debug: ${data}` : shown(null)
      case 'stop-commands':
        if (data) this.stopToken = data
        return shown(null)
      case 'echo':
        if (data === 'on') this.echo = true
        else if (data === 'off') this.echo = false
        return null
      case 'set-env':
      case 'add-path':
        if (!this.opts.allowUnsecure) {
          e.errors.push(`Unable to process command '${text}' successfully. The \`${name}\` command is disabled: write to $${name === 'set-env' ? 'GITHUB_ENV' : 'GITHUB_PATH'} instead, or set ACTIONS_ALLOW_UNSECURE_COMMANDS=true`)
          return `error: the \`${name}\` command is disabled (use $${name === 'set-env' ? 'GITHUB_ENV' : 'GITHUB_PATH'})`
        }
        if (name === 'set-env' && p.name) e.env[p.name] = data
        if (name === 'add-path' && data) e.path.push(data)
        return shown(null)
      default:
        return text
    }
  }
}
