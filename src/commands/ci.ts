import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {ciCommand, type CiOutcome} from '../cli/ci.js'
import {DEFAULT_PIPELINE} from '../ci/load.js'
import {PRIVILEGES} from '../ci/policy.js'
import {queueFlags} from '../queue/cli.js'

export default class Ci extends BaseCommand {
  static override summary = 'Run a CI pipeline or a GitHub Actions workflow, each step in a hardened sandbox'
  static override description = `FILE is a lab pipeline (default ${DEFAULT_PIPELINE}, schema schemas/ci.schema.json) or a GitHub Actions workflow (.github/workflows/X.yml), run with GitHub's semantics (see docs/ci.md). Jobs run in the order their needs allow, independent ones in parallel; every step runs in its own sandbox (no network but the job's services, remapped ids, seccomp) on a private copy of the workspace, so no step can change your checkout.

The pipeline comes from the checkout under test, so it cannot grant itself privileges: workspace: write, container.network: host, cap-add, another seccomp profile and rootfs are capped (each refusal listed) unless --allow KEY, a --policy FILE outside the checkout, or --trusted-ref REF (the pipeline as it is on that ref, like pull_request_target) grants them. --untrusted (and a pull request from a fork) also gets no secrets and its own cache scope.

Secrets (--secret NAME from the environment, --secret-file) are masked in every log and report. As on GitHub, a secret reaches a step only where the pipeline names it: map it with env: NAME: \${{ secrets.NAME }} on the step or job (lab warns about a secret the pipeline never names). A pull request from a fork (--event pull_request with a payload whose head repository differs) gets no secrets, as on GitHub, unless --fork-secrets.

--event, --ref, --sha, --changed and --eventpath say what triggered the run: a workflow whose on: filters do not match does not run. --list shows what would run without running anything; --lint reports script injection (untrusted event values pasted into run: scripts). Exits 1 when a required step failed (or --lint found a problem), 125 when the pipeline is invalid.`

  static override examples = [
    '<%= config.bin %> ci',
    '<%= config.bin %> ci examples/ci/.lab/ci.yml --jobs 2',
    'API_TOKEN=… <%= config.bin %> ci --secret API_TOKEN --junit junit.xml',
    '<%= config.bin %> ci .github/workflows/test.yml --strict',
    '<%= config.bin %> ci logs --job build --follow',
    '<%= config.bin %> ci .github/workflows/ci.yml --event pull_request --ref main --changed src/app.ts --list',
    '<%= config.bin %> ci .github/workflows/ci.yml --lint',
    '<%= config.bin %> ci .github/workflows/ci.yml --action-dir actions/setup-node@v4=../setup-node',
    '<%= config.bin %> ci --untrusted --event pull_request --ref main',
    '<%= config.bin %> ci --trusted-ref origin/main --secret DEPLOY_TOKEN',
  ]

  static override args = {
    file: Args.string({description: `pipeline file (default ${DEFAULT_PIPELINE})`, required: false}),
  }

  static override flags = {
    jobs: Flags.integer({char: 'j', description: 'job runs at once (default: the number of CPUs)', min: 1, max: 64}),
    secret: Flags.string({char: 's', description: 'a secret taken from this environment variable (repeatable); a step sees it only where the pipeline maps it: env: NAME: ${{ secrets.NAME }}', multiple: true, helpValue: 'NAME'}),
    'secret-file': Flags.string({description: 'a file of NAME=value secret lines (repeatable)', multiple: true}),
    workspace: Flags.string({char: 'w', description: 'the repository (default: the directory holding .lab/ or .github/, else the current one)'}),
    strict: Flags.boolean({description: 'unsupported uses: steps and container images are errors instead of warnings'}),
    junit: Flags.string({description: 'also write the JUnit XML report (one testcase per step) here'}),
    quiet: Flags.boolean({char: 'q', description: 'do not stream step output (it is still in the logs)'}),
    event: Flags.string({description: 'the event that triggers the run: push, pull_request, workflow_dispatch… (default: the workflow\'s first trigger, without filtering)'}),
    ref: Flags.string({description: 'the ref of the event: a branch, refs/heads/X or refs/tags/X (for pull_request: the base branch; default: the checkout\'s)'}),
    sha: Flags.string({description: 'the commit of the event (default: the checkout\'s HEAD)'}),
    changed: Flags.string({description: 'a file the push or pull request changed, for paths filters (repeatable)', multiple: true, helpValue: 'FILE'}),
    eventpath: Flags.string({description: 'a JSON webhook payload: github.event and $GITHUB_EVENT_PATH'}),
    var: Flags.string({description: 'a configuration variable: the vars context (repeatable)', multiple: true, helpValue: 'NAME=VALUE'}),
    input: Flags.string({description: 'a workflow_dispatch input: the inputs context (repeatable)', multiple: true, helpValue: 'NAME=VALUE'}),
    'action-dir': Flags.string({description: 'run a remote action or reusable workflow from a local copy of its repository (repeatable)', multiple: true, helpValue: 'OWNER/REPO@REF=DIR'}),
    'fork-secrets': Flags.boolean({description: 'give secrets to a pull request from a fork (GitHub does not)'}),
    list: Flags.boolean({description: 'show what would run for the event (jobs, matrix legs, skipped and why) without running anything'}),
    lint: Flags.boolean({description: 'report script injection: untrusted event values pasted into run: scripts through ${{ }}'}),
    allow: Flags.string({description: `grant the pipeline a privilege it cannot grant itself (repeatable): ${Object.keys(PRIVILEGES).join(', ')}`, multiple: true, helpValue: 'KEY'}),
    policy: Flags.string({description: 'a policy file outside the checkout: {allow: [KEY…]}', helpValue: 'FILE'}),
    'trusted-ref': Flags.string({description: 'run the pipeline as it is on this ref (like pull_request_target): what that version asks for is granted', helpValue: 'REF'}),
    untrusted: Flags.boolean({description: 'the checkout is untrusted (a pull request): no secrets, privileges capped, its own cache scope'}),
    ...queueFlags,
  }

  async run(): Promise<CiOutcome> {
    const {args, flags} = await this.parse(Ci)
    return ciCommand(args.file, flags, this.jsonEnabled(), (t) => this.log(t))
  }
}
