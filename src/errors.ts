/**
 * One error type for everything a user can cause or meet: a stable code, the exit
 * code the CLI ends with, and a hint that says what to do. The CLI prints it as a
 * single line (or as JSON with --json) in one place: src/base-command.ts.
 */
export class LabError extends Error {
  readonly code: string
  readonly exitCode: number
  readonly hint?: string

  constructor(code: string, message: string, options: {hint?: string; exitCode?: number; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'LabError'
    this.code = code
    this.hint = options.hint
    this.exitCode = options.exitCode ?? 125
  }

  /** The one-line form the CLI prints. */
  oneLine(): string {
    const msg = this.message.replace(/\s*\n\s*/g, ' ')
    return this.hint ? `lab: ${msg} (${this.hint})` : `lab: ${msg}`
  }

  toJSON(): {code: string; message: string; hint?: string; exitCode: number} {
    return {code: this.code, message: this.message, ...(this.hint ? {hint: this.hint} : {}), exitCode: this.exitCode}
  }
}

/** Exit codes shared with Docker, so scripts written for one work with the other. */
export const EXIT = {
  ENGINE: 125,
  CANNOT_EXECUTE: 126,
  NOT_FOUND: 127,
  USAGE: 2,
  FAILED: 1,
} as const

export function usageError(message: string, hint?: string): LabError {
  return new LabError('usage', message, {hint, exitCode: EXIT.ENGINE})
}

export function asLabError(err: unknown): LabError {
  if (err instanceof LabError) return err
  const e = err as NodeJS.ErrnoException
  const msg = e && typeof e.message === 'string' ? e.message : String(err)
  return new LabError('internal', msg, {hint: 'this is a bug in lab; please report it with the command you ran'})
}
