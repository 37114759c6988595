// Asks rsipfs's gateway through the delegated routing client Helia uses
// (@helia/delegated-routing-v1-http-api-client; tests/routing_v1.rs runs it
// under Node 22): the providers of a CID, a peer's addresses, a name's IPNS
// record, then puts that record back and a damaged copy of it.
//
// node delegated-routing.mjs GATEWAY_URL CID PEER_CID NAME_CID
// Prints one JSON object: { providers, peers, record, putAgain, putDamaged }.

import { delegatedRoutingV1HttpApiClient } from '@helia/delegated-routing-v1-http-api-client'
import { defaultLogger } from '@libp2p/logger'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'

const [gateway, cid, peer, name] = process.argv.slice(2)
const client = delegatedRoutingV1HttpApiClient({ url: gateway, cacheTTL: 0, timeout: 60000 })({
  logger: defaultLogger()
})
await client.start()

const records = async (found) => {
  const out = []
  for await (const record of found) {
    out.push({
      // The client gives IDs as CIDs; as a base58 peer ID:
      id: base58btc.baseEncode(record.ID.multihash.bytes),
      addrs: record.Addrs.map(String),
      protocols: record.Protocols
    })
  }
  return out
}

const outcome = async (work) => {
  try {
    await work()
    return 'ok'
  } catch (err) {
    return `failed: ${err.message}`
  }
}

const providers = await records(client.getProviders(CID.parse(cid)))
const peers = await records(client.getPeers(CID.parse(peer)))
const record = await client.getIPNS(CID.parse(name))
const putAgain = await outcome(() => client.putIPNS(CID.parse(name), record))
const damaged = Uint8Array.from(record)
damaged[damaged.length - 5] ^= 0xff
const putDamaged = await outcome(() => client.putIPNS(CID.parse(name), damaged))
await client.stop()

console.log(JSON.stringify({
  providers,
  peers,
  record: Buffer.from(record).toString('hex'),
  putAgain,
  putDamaged
}))
