import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {stateDirFlag} from '../cli/lifecycle-flags.js'
import {buildCommand} from '../cli/build.js'

export default class Build extends BaseCommand {
  static override summary = 'Build an image from a Dockerfile'
  static override description = 'Every RUN runs in a sandbox on the image so far (no network unless --network host, the build\'s quotas, remapped ids); COPY and ADD read only the context, minus .dockerignore. A step whose parent, instruction, arguments and files read are unchanged reuses its earlier image (--no-cache not to). FROM images come from the store: builds never pull.'
  static override examples = [
    'lab build -t app:v1 .',
    'lab build -f docker/Dockerfile --build-arg VERSION=1.2 --target runtime -t app:slim .',
    'lab build -q --iidfile id.txt --no-cache .',
  ]
  static override args = {context: Args.string({required: true, description: 'the build context: a directory'})}
  static override flags = {
    tag: Flags.string({char: 't', multiple: true, multipleNonGreedy: true, description: 'name the image NAME[:TAG] (more than once for several)', helpValue: 'NAME[:TAG]'}),
    file: Flags.string({char: 'f', description: 'the Dockerfile (default CONTEXT/Dockerfile; - reads stdin)', helpValue: 'PATH'}),
    'build-arg': Flags.string({multiple: true, multipleNonGreedy: true, description: 'set a build argument (NAME alone takes it from the environment)', helpValue: 'NAME=VALUE'}),
    target: Flags.string({description: 'build this stage and those it needs, not the last', helpValue: 'STAGE'}),
    'no-cache': Flags.boolean({description: 'run every step, reusing nothing'}),
    platform: Flags.string({description: 'the platform to build for: only this machine\'s (builds run natively)', helpValue: 'OS/ARCH'}),
    network: Flags.string({description: 'the network of RUN steps: none (default) or host', helpValue: 'none|host', default: 'none'}),
    memory: Flags.string({char: 'm', description: 'memory limit of each RUN, e.g. 512m', helpValue: 'SIZE'}),
    cpus: Flags.string({description: 'CPUs each RUN may use, e.g. 1.5', helpValue: 'N'}),
    'pids-limit': Flags.string({description: 'most processes a RUN may have at once (default 4096)', helpValue: 'N'}),
    timeout: Flags.string({description: 'time limit of each RUN, e.g. 10m', helpValue: 'DURATION'}),
    label: Flags.string({multiple: true, multipleNonGreedy: true, description: 'set a label on the image', helpValue: 'KEY=VALUE'}),
    quiet: Flags.boolean({char: 'q', description: 'print only the image id'}),
    iidfile: Flags.string({description: 'write the image id to this file', helpValue: 'FILE'}),
    progress: Flags.string({options: ['auto', 'plain', 'tty'], default: 'auto', description: 'how to show the steps: plain lines, or a terminal\'s (auto: tty on a terminal)'}),
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(Build)
    return buildCommand(args.context, {...flags, network: flags.network}, this.jsonEnabled())
  }
}
