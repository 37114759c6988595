// kubo-rpc-client's key and name commands against rsipfs (tests/rpc_client.rs):
//   node rpc-keys.mjs <api url>
// prints what each call answered, and the messages of the calls refused.
import { create } from 'kubo-rpc-client'

const client = create({ url: `${process.argv[2]}/api/v0` })
const refused = async (call) => {
  try {
    await call()
    return null
  } catch (err) {
    return String(err && err.message ? err.message : err)
  }
}

const ed = await client.key.gen('js-ed', { type: 'ed25519' })
const rsa = await client.key.gen('js-rsa', { type: 'rsa', size: 2048 })
const listed = await client.key.list()
const renamed = await client.key.rename('js-ed', 'js-ed2')
const removed = await client.key.rm('js-ed2')
const self = await refused(() => client.key.gen('self', { type: 'ed25519' }))
const escape = await refused(() => client.key.gen('../up', { type: 'ed25519' }))
const nul = await refused(() => client.key.gen('a\u0000b', { type: 'ed25519' }))
const small = await refused(() => client.key.gen('small', { type: 'rsa', size: 1024 }))
const after = await client.key.list()
// A name published under the RSA key, then resolved.
const { cid } = await client.add('published through kubo-rpc-client\n')
const published = await client.name.publish(`/ipfs/${cid}`, { key: 'js-rsa', allowOffline: true })
const resolved = []
for await (const path of client.name.resolve(published.name)) resolved.push(path)
console.log(JSON.stringify({
  ed, rsa, listed, renamed, removed, self, escape, nul, small, after,
  cid: cid.toString(), published, resolved
}))
