/**
 * The argv of a command on a start-up fast path (bin/run.js: `lab build`, `lab image
 * pull`), read without oclif. It knows only what the command's table lists; anything
 * else (help, an unknown or repeated flag, a missing value, the wrong number of
 * arguments) returns null, and oclif takes the argv and explains it.
 */
export interface FastArgvSpec<F> {
  /** flags with a value, by every spelling (-t, --tag) */
  strings: Record<string, keyof F>
  /** those that may be given more than once (collected in an array) */
  multiple?: ReadonlySet<keyof F>
  /** flags without a value; 'json' is --json */
  booleans: Record<string, keyof F | 'json'>
  positionals: number
}

export function parseFastArgv<F>(argv: string[], spec: FastArgvSpec<F>): {positionals: string[]; flags: F; json: boolean} | null {
  const flags: Record<string, unknown> = {}
  let json = false
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a)
      continue
    }
    const eq = a.indexOf('=')
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a
    const flag = spec.booleans[name]
    if (flag && eq < 0) {
      if (flag === 'json') json = true
      else flags[flag as string] = true
      continue
    }
    const key = spec.strings[name] as string | undefined
    if (!key) return null
    const value = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : argv[++i]
    if (value === undefined) return null
    if (spec.multiple?.has(key as keyof F)) flags[key] = [...((flags[key] as string[]) ?? []), value]
    else if (flags[key] !== undefined) return null
    else flags[key] = value
  }
  if (positionals.length !== spec.positionals) return null
  return {positionals, flags: flags as F, json}
}
