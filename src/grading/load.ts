/**
 * Loading a grading spec: a grading.yaml (or any .yaml/.yml file), a directory holding
 * one, or a lab (id or directory) whose grading.yaml sits beside its lab.yaml — so one
 * definition serves the lab and its grading. The YAML is checked against the published
 * schema, then by named checks of meaning; every file it names is read without
 * following links and hashed, so a report can say exactly what it was graded with.
 */
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, realpathSync, statSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {LabError} from '../errors.js'
import {safeReadFile, safeStat, walkSafe} from '../labs/fsafe.js'
import {LABS_DIR} from '../labs/load.js'
import {parseDuration, parseSize} from '../sandbox/units.js'
import {parseYaml, problemLine, schemaProblems, summarizeProblems} from '../util/yaml-load.js'
import {check as schemaCheck} from '../validators.js'
import {GRADING_SCHEMA, type GradingSpec, isGroup, type RunLimits, type TextCheck} from './schema.js'

export interface LoadedSpec {
  /** the spec file, canonical */
  file: string
  /** the directory its relative paths start from */
  dir: string
  data: GradingSpec
  /** sha256 of the spec file's bytes */
  specSha256: string
  /** sha256 of every file of the spec used in grading, by relative path */
  fileHashes: Record<string, string>
  /** expected texts and stdin files, read once */
  texts: Map<string, string>
}

export class GradingSpecError extends LabError {
  readonly problems: string[]
  constructor(problems: string[]) {
    super('grading-invalid', summarizeProblems(problems), {
      hint: 'fix the grading spec; its schema is schemas/grading.schema.json',
    })
    this.problems = problems
  }
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

/** A path, a directory with grading.yaml, or a lab id → the spec file. */
export function resolveSpecFile(given: string): string {
  const candidates: string[] = []
  if (/^[a-z][a-z0-9-]{1,39}$/.test(given) && !existsSync(given)) candidates.push(join(LABS_DIR, given, 'grading.yaml'))
  else candidates.push(given, join(given, 'grading.yaml'), join(given, 'grading.yml'))
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) return realpathSync(c)
    } catch {
      /* next */
    }
  }
  throw new LabError('grading-not-found', `${given}: no grading spec there`, {hint: 'give a grading.yaml, a directory holding one, or a lab whose directory has a grading.yaml'})
}

/** Parses "2s", "64m" of a limits block (already schema-checked) so bad values fail at load time. */
export function checkLimits(l: RunLimits | undefined, where: string, problems: string[]): void {
  if (!l) return
  try {
    if (l.time !== undefined && parseDuration(l.time, `${where}.time`) <= 0) problems.push(`${where}.time: must be above 0`)
    if (l.memory !== undefined) parseSize(l.memory, `${where}.memory`, {min: 6 * 1024 * 1024})
    if (l.output !== undefined) parseSize(l.output, `${where}.output`, {min: 1})
    if (l.fileSize !== undefined) parseSize(l.fileSize, `${where}.fileSize`, {min: 1})
  } catch (e) {
    problems.push((e as Error).message)
  }
}

export async function loadGradingSpec(given: string): Promise<LoadedSpec> {
  const file = resolveSpecFile(given)
  const dir = dirname(file)
  const raw = readFileSync(file)
  const name = basename(file)
  const parsed = parseYaml(raw.toString('utf8'), name, (problems) => new GradingSpecError(problems))
  const data = parsed.data as GradingSpec
  const problems = schemaProblems(await schemaCheck('grading', data), {schema: GRADING_SCHEMA, data}).map((p) => problemLine(name, parsed, p.path, p.message))
  if (problems.length) throw new GradingSpecError(problems)

  // --- meaning
  const seen = new Set<string>()
  const fileHashes: Record<string, string> = {}
  const texts = new Map<string, string>()
  const readSpecFile = (rel: string, where: string) => {
    if (texts.has(rel)) return
    try {
      const text = safeReadFile(dir, rel, where, 16 * 1024 * 1024)
      if (text === null) problems.push(`${name}: ${where}: ${rel} does not exist next to the spec`)
      else {
        texts.set(rel, text)
        fileHashes[rel] = sha256(text)
      }
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`)
    }
  }
  const hashSpecFiles = (list: string[] | undefined, where: string, dirOnly = false) => {
    for (const rel of list ?? []) {
      try {
        const st = safeStat(dir, rel, where)
        if (!st) problems.push(`${name}: ${where}: ${rel} does not exist next to the spec`)
        else if (st.isDirectory()) {
          for (const e of walkSafe(join(dir, rel), `${where}/${rel}`)) if (!e.dir) fileHashes[`${rel}/${e.rel}`] = sha256(readFileSync(join(dir, rel, e.rel)))
        } else if (dirOnly) problems.push(`${name}: ${where}: ${rel} is not a directory`)
        else if (st.nlink > 1) problems.push(`${name}: ${where}: ${rel} is a hard link`)
        else fileHashes[rel] = sha256(readFileSync(join(dir, rel)))
      } catch (e) {
        problems.push(`${name}: ${(e as Error).message}`)
      }
    }
  }
  hashSpecFiles(data.files, 'files')
  checkLimits(data.limits, '/limits', problems)
  if (data.build) checkLimits(data.build.limits, '/build/limits', problems)
  const textCheck = (t: TextCheck | undefined, where: string) => {
    if (!t) return
    if (t.matches !== undefined) {
      try {
        new RegExp(t.matches, 'm')
      } catch (e) {
        problems.push(`${name}: ${where}.matches: ${(e as Error).message}`)
      }
    }
    if (t.equalsFile !== undefined) readSpecFile(t.equalsFile, `${where}.equalsFile`)
  }
  const services = new Set<string>()
  ;(data.services ?? []).forEach((x, i) => {
    if (services.has(x.name)) problems.push(`${name}: /services/${i}/name: "${x.name}" is used by two services (names must be unique)`)
    services.add(x.name)
    checkLimits(x.limits, `/services/${i}/limits`, problems)
    if (x.ready?.timeout) checkLimits({time: x.ready.timeout}, `/services/${i}/ready`, problems)
  })
  data.tests.forEach((t, i) => {
    const where = `/tests/${i}`
    for (const s of t.services ?? []) if (!services.has(s)) problems.push(`${name}: ${where}/services: no service "${s}" (the top-level services are: ${[...services].join(', ') || 'none'})`)
    if (seen.has(t.name)) problems.push(`${name}: ${where}/name: "${t.name}" is used by two tests (names must be unique)`)
    seen.add(t.name)
    checkLimits(t.limits, `${where}/limits`, problems)
    hashSpecFiles(t.files, `${where}/files`)
    if (isGroup(t)) {
      if (t.reference) hashSpecFiles([t.reference], `${where}/reference`, true)
      else if (!t.scores?.some((x) => x.name)) problems.push(`${name}: ${where}: a ${t.framework} group needs \`reference:\` (a solution directory that passes, whose run lists the tests) or \`scores:\` naming its tests`)
      ;(t.scores ?? []).forEach((x, j) => {
        if (x.match === undefined) return
        try {
          new RegExp(x.match)
        } catch (e) {
          problems.push(`${name}: ${where}/scores/${j}/match: ${(e as Error).message}`)
        }
      })
      const bases = (t.files ?? []).map((f) => basename(f))
      if (new Set(bases).size !== bases.length) problems.push(`${name}: ${where}/files: two files have the same base name (each is copied into /work under its base name)`)
      return
    }
    if (t.stdinFile) readSpecFile(t.stdinFile, `${where}/stdinFile`)
    t.checks.forEach((c, j) => {
      const w = `${where}/checks/${j}`
      textCheck(c.stdout, `${w}/stdout`)
      textCheck(c.stderr, `${w}/stderr`)
      textCheck(c.file, `${w}/file`)
      if (c.checker?.time) checkLimits({time: c.checker.time}, `${w}/checker`, problems)
      hashSpecFiles(c.checker?.files, `${w}/checker/files`)
    })
  })
  if (problems.length) throw new GradingSpecError(problems)
  return {file, dir, data, specSha256: sha256(raw), fileHashes, texts}
}
