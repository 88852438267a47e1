/** Makes bridged networks available to the engine (src/sandbox/networks.ts) in this process:
 * the CLI imports this; each call works on the Store of the engine that makes it. */
import {registerBridgeNetworks} from '../sandbox/networks.js'
import {Networks} from './networks.js'
import {pastaAttach} from './pasta.js'

registerBridgeNetworks({
  attach: (req, sandbox, store) => new Networks(store).attach(req, sandbox),
  beforeStart: (store, id) => new Networks(store).beforeStart(id),
  reconcile: (store) => new Networks(store).reconcile(),
  pasta: (req, sandbox, store) => pastaAttach(req, sandbox, store),
})
