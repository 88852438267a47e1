import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {LabError} from '../errors.js'
import {loadLab, PACKAGE_ROOT} from '../labs/load.js'

export default class New extends BaseCommand {
  static override summary = 'Create a new lab from a small working template'
  static override description = 'Writes ID/lab.yaml (with the schema for editor completion), one step of instructions, a fixture and the reference solution, then validates it. Run it with `lab run PATH`.'
  static override examples = ['<%= config.bin %> new my-lab', '<%= config.bin %> new my-lab --dir labs']

  static override args = {id: Args.string({description: 'the new lab\'s id (lowercase words joined by -)', required: true})}
  static override flags = {dir: Flags.string({description: 'where to create it (default: ./labs when it exists, else .)'})}

  async run(): Promise<{id: string; path: string; files: string[]}> {
    const {args, flags} = await this.parse(New)
    if (!/^[a-z][a-z0-9-]{1,39}$/.test(args.id)) throw new LabError('usage', `"${args.id}" is not a valid lab id`, {hint: 'use 2-40 lowercase letters, digits and -, starting with a letter', exitCode: 2})
    const parent = resolve(flags.dir ?? (existsSync('labs') ? 'labs' : '.'))
    const dir = join(parent, args.id)
    if (existsSync(dir)) throw new LabError('usage', `${dir} already exists`, {hint: 'choose another id or --dir; nothing was changed', exitCode: 1})
    const schema = relative(dir, join(PACKAGE_ROOT, 'schemas', 'lab.schema.json'))
    const files: Record<string, string> = {
      'lab.yaml': `# yaml-language-server: $schema=${schema}
id: ${args.id}
title: My first lab
chapter: "1"
source: "Which course section this lab teaches"
estimatedMinutes: 10
steps:
  - id: read-a-fixture
    title: Read a host file through a read-only bind mount
    summary: The sandbox sees the host directory, but cannot change it.
    read: steps/01-read-a-fixture.md
    actions:
      - run: -v {{work}}/data:/data:ro -- cat /data/greeting.txt
        as: read
      - runFile: 01-write.cmd
        as: write
    exercise:
      file: 01-write.cmd
      task: Write a \`lab sandbox run\` command that binds $PWD/data read-only at /data and tries to write /data/x.
    checks:
      - name: the sandbox reads the host's file
        of: read
        stdout: {contains: hello}
      - name: writing through the read-only bind fails with EROFS
        of: write
        fails: {errno: EROFS}
        hint: bind the directory with :ro at the end, e.g. -v "$PWD/data:/data:ro", and write with sh -c 'echo x > /data/x'
`,
      'steps/01-read-a-fixture.md': `# Read-only bind mounts

A bind mount puts a host directory into the sandbox. With \`:ro\` the sandbox can read it
but not change it:

\`\`\`sh
lab sandbox run -v {{work}}/data:/data:ro -- cat /data/greeting.txt
\`\`\`

{{#if results.read}}It printed: {{results.read.stdout}}{{else}}It prints the greeting the host wrote.{{/if}}
`,
      'fixtures/data/greeting.txt': 'hello from the host\n',
      'solution/01-write.cmd': `lab sandbox run -v "$PWD/data:/data:ro" -- sh -c 'echo x > /data/x'\n`,
    }
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(dir, rel, '..'), {recursive: true})
      writeFileSync(join(dir, rel), text)
    }
    await loadLab(dir)
    // a path the lab commands take as a path, not as the id of a shipped lab
    const rel = relative(process.cwd(), dir)
    const shown = rel.startsWith('..') || rel === '' ? dir : `./${rel}`
    if (!this.jsonEnabled()) this.log(`created ${dir}: edit lab.yaml and steps/, then \`lab validate ${shown}\` and \`lab run ${shown}\``)
    return {id: args.id, path: dir, files: Object.keys(files)}
  }
}
