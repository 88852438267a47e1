import {runDoctor, type DoctorReport} from '../sandbox/doctor.js'
import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {gradingDoctor, type GradingDoctorReport} from '../grading/doctor.js'
import {escapeTerminal} from '../grading/terminal.js'

export default class Doctor extends BaseCommand {
  static override summary = 'Report what this host supports, with a fix for each missing piece'
  static override description = 'Checks the kernel, namespaces (and any sysctl or AppArmor restriction on user namespaces), cgroup mode (v1, v2 or hybrid), seccomp and libseccomp, overlayfs and idmapped mounts, then runs one fully hardened sandbox end to end. Exits 1 when something lab needs is missing.'
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json', '<%= config.bin %> doctor --grading examples/grading/grading.yaml']
  static override flags = {
    grading: Flags.string({description: 'instead: list the commands (and Python modules) a grading spec runs that are missing inside the sandbox, which sees the host\'s system directories only (or the image the spec names)'}),
  }

  async run(): Promise<DoctorReport | GradingDoctorReport> {
    const {flags} = await this.parse(Doctor)
    if (flags.grading) return this.grading(flags.grading)
    const report = await runDoctor()
    if (!this.jsonEnabled()) {
      const mark = {ok: 'ok  ', warn: 'warn', fail: 'FAIL'}
      for (const c of report.checks) {
        this.log(`${mark[c.status]}  ${c.name.padEnd(16)} ${c.detail}`)
        if (c.fix && c.status !== 'ok') this.log(`      ${''.padEnd(16)} fix: ${c.fix}`)
      }
    }
    if (!report.ok) process.exitCode = 1
    return report
  }

  private async grading(spec: string): Promise<GradingDoctorReport> {
    const report = await gradingDoctor(spec)
    if (!this.jsonEnabled()) {
      for (const c of report.checks) {
        const what = c.kind === 'python-module' ? `python module ${c.name}` : c.name
        const inside = c.image ? `on the image ${c.image}` : 'inside the sandbox'
        const line = c.inSandbox ? `ok    ${what.padEnd(22)} ${c.inSandbox}${c.image ? ` (${c.image})` : ''}` : `FAIL  ${what.padEnd(22)} missing ${inside} (used by ${c.usedBy.join(', ')})`
        this.log(escapeTerminal(line))
        if (!c.inSandbox) {
          const fix = c.image
            ? `add it to the image ${c.image} (a Dockerfile RUN, then lab build), or name another image`
            : c.onHost
            ? `found on the host at ${c.onHost}, outside the system directories the sandbox sees: install it system-wide (e.g. apt-get install)`
            : c.kind === 'python-module'
              ? `install it system-wide: apt-get install python3-${c.name}`
              : 'install it system-wide (e.g. apt-get install), or build it in the spec\'s build step'
          this.log(`      ${''.padEnd(22)} fix: ${fix}`)
        }
      }
      if (report.checks.length === 0) this.log('the spec runs no command lab can name')
    }
    if (!report.ok) process.exitCode = 1
    return report
  }
}
