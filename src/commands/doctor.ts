import {runDoctor, type DoctorReport} from '../sandbox/doctor.js'
import {BaseCommand} from '../base-command.js'

export default class Doctor extends BaseCommand {
  static override summary = 'Report what this host supports, with a fix for each missing piece'
  static override description = 'Checks the kernel, namespaces (and any sysctl or AppArmor restriction on user namespaces), cgroup mode (v1, v2 or hybrid), seccomp and libseccomp, overlayfs and idmapped mounts, then runs one fully hardened sandbox end to end. Exits 1 when something lab needs is missing.'
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json']

  async run(): Promise<DoctorReport> {
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
}
