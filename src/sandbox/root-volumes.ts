/**
 * Writable volumes owned by host root (a checkout, a lab's work directory, run as root).
 *
 * Every writable volume is idmapped so that its owner is the sandbox's user inside. For a
 * directory owned by host root that means the sandbox's user writes there as host root —
 * what `docker run -v "$PWD:/src"` gives, and the only way files a sandbox writes keep
 * one owner from run to run (each sandbox has its own id range). It is allowed because
 * the one thing host root's files could add to root's power elsewhere, a set-uid or
 * set-gid program, cannot be made: the sandbox's seccomp filter then starts with a stub
 * that refuses set-id modes (systemd's RestrictSUIDSGID=; src/sandbox-native/seccomp_compile.c),
 * whatever the profile, and the mount is nosuid and nodev as every volume is. The mapping
 * stops at the volume: the rest of the host stays owned by nobody the sandbox knows.
 *
 * Without a filter (seccomp=unconfined) nothing can refuse set-id modes, so such a
 * volume keeps the old rule: mounted without id mapping, with a warning.
 */
import {statSync} from 'node:fs'

import type {Mount} from './spec.js'

/** Whether a sandbox with these mounts writes a host-root-owned directory through an idmapped bind. */
export function writesRootOwnedVolume(mounts: Mount[], userns: string | undefined): boolean {
  if (process.getuid?.() !== 0 || userns === 'host') return false
  return mounts.some((m) => {
    if (m.type !== 'bind' || m.readOnly) return false
    try {
      return statSync(m.source).uid === 0
    } catch {
      return false // the engine reports a missing source itself
    }
  })
}
