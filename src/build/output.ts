/**
 * What a build shows, as Docker's classic builder shows it:
 *
 *   Step 3/9 : RUN make
 *    ---> Running in a sandbox
 *   …the step's output…
 *    ---> 3f1e2d4c5b6a
 *   Step 4/9 : COPY app /srv/app
 *    ---> Using cache
 *    ---> 9a8b7c6d5e4f
 *   Successfully built 9a8b7c6d5e4f
 *   Successfully tagged app:latest
 *
 * `plain` writes exactly these lines (for logs and pipes); `tty` (the default on a
 * terminal) makes the step lines bold and indents a step's output under it.
 */
import type {Writable} from 'node:stream'

import type {BuildEvent, BuildResult} from './index.js'

export type ProgressMode = 'plain' | 'tty'

const short = (id: string) => (id.startsWith('sha256:') ? id.slice(7, 19) : id)

export class BuildPrinter {
  private atLineStart = true
  constructor(private readonly out: Writable | null, private readonly mode: ProgressMode) {}

  private write(s: string): void {
    this.out?.write(s)
  }

  private line(s: string): void {
    if (!this.atLineStart) this.write('\n')
    this.write(s + '\n')
    this.atLineStart = true
  }

  event = (e: BuildEvent): void => {
    const tty = this.mode === 'tty'
    switch (e.type) {
      case 'step':
        this.line(tty ? `\x1b[1mStep ${e.n}/${e.total} : ${e.text}\x1b[0m` : `Step ${e.n}/${e.total} : ${e.text}`)
        break
      case 'cached':
        this.line(' ---> Using cache')
        break
      case 'running':
        this.line(' ---> Running in a sandbox')
        break
      case 'output': {
        let s = e.chunk.toString('utf8')
        if (tty) s = s.replace(/(^|\n)(?=.)/g, (m) => `${m}    `)
        if (tty && !this.atLineStart) s = s.replace(/^ {4}/, '')
        this.write(s)
        this.atLineStart = s.endsWith('\n')
        break
      }
      case 'made':
        this.line(` ---> ${short(e.image)}`)
        break
      case 'warning':
        this.line(e.message)
        break
    }
  }

  done(r: BuildResult): void {
    this.line(`Successfully built ${short(r.id)}`)
    for (const t of r.tags) this.line(`Successfully tagged ${t}`)
  }
}
