/** The network commands' engine: the networks of the state directory given (or the default). */
import {Networks} from '../network/networks.js'
import {Store} from '../sandbox/state/store.js'

export function networks(flags: {'state-dir'?: string}): Networks {
  return new Networks(new Store(flags['state-dir']))
}
