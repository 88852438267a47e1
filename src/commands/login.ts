import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {stateDirFlag} from '../cli/lifecycle-flags.js'
import {usageError} from '../errors.js'
import {saveCredentials} from '../images/registry/auth.js'
import {RegistryClient} from '../images/registry/client.js'
import {registryFlags} from './image/pull.js'

export default class Login extends BaseCommand {
  static override summary = 'Log in to a registry (the credentials are kept in a file only you can read)'
  static override description = 'The registry is asked first: credentials it refuses are not kept. They go to auth.json in lab\'s data directory (mode 0600), in Docker\'s config.json format; Docker\'s own ~/.docker/config.json is read too. --remove forgets them.'
  static override examples = ['lab login -u alice --password-stdin 127.0.0.1:5000 < token.txt', 'lab login --remove 127.0.0.1:5000']
  static override args = {server: Args.string({description: 'registry host[:port] (default docker.io)'})}
  static override flags = {
    username: Flags.string({char: 'u', description: 'user name', helpValue: 'USER'}),
    password: Flags.string({char: 'p', description: 'password (prefer --password-stdin: a flag shows in ps and shell history)', helpValue: 'PASSWORD'}),
    'password-stdin': Flags.boolean({description: 'read the password from stdin'}),
    remove: Flags.boolean({description: 'forget the credentials for the registry (docker logout)'}),
    ...registryFlags,
    ...stateDirFlag,
  }

  async run() {
    const {args, flags} = await this.parse(Login)
    const host = (args.server ?? 'docker.io').replace(/^https?:\/\//, '').replace(/\/.*$/, '')
    if (flags.remove) {
      const file = saveCredentials(host, null, flags['state-dir'])
      if (!this.jsonEnabled()) this.log(`Removing login credentials for ${host}`)
      return {server: host, removed: true, file}
    }
    if (!flags.username) throw usageError('lab login needs -u USER', 'e.g. lab login -u alice --password-stdin HOST')
    let password = flags.password
    if (flags['password-stdin']) {
      if (password !== undefined) throw usageError('give the password with -p or --password-stdin, not both')
      const chunks: Buffer[] = []
      for await (const c of process.stdin) chunks.push(c as Buffer)
      password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
    }
    if (!password) throw usageError('no password given', 'use --password-stdin (or -p)')
    const creds = {username: flags.username, password}
    // the registry decides: a token for pull access on a throwaway scope, or Basic on /v2/
    const client = new RegistryClient(host, {stateDir: flags['state-dir'], insecure: flags['insecure-registry'], credentials: creds})
    const r = await client.request('GET', '', '')
    await r.body?.cancel()
    if (r.status !== 200) throw usageError(`${host} answered ${r.status} to the login`, 'check the credentials')
    const file = saveCredentials(host, creds, flags['state-dir'])
    if (!this.jsonEnabled()) this.log('Login Succeeded')
    return {server: host, file}
  }
}
