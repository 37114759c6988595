// IPNS records between rsipfs and js-ipns (the `ipns` package), both ways
// (tests/ipns_js.rs runs it):
//   node ipns-interop.mjs validate <name> <record file>
//     prints {"valid": true, "value": "...", "sequence": N} or
//     {"valid": false, "error": "..."}
//   node ipns-interop.mjs create <dir> <count> [Ed25519|RSA]
//     makes <count> keys (Ed25519 unless told), and for each records with
//     sequences 0..2, V1+V2 and V2-only, written as
//     <dir>/<name>_<seq>_<v1|v2>.rec, and prints
//     [{"name", "file", "value", "sequence"}].
//   node ipns-interop.mjs key-make <file> <Ed25519|RSA>
//     writes a new private key as libp2p protobuf, prints {"name"}
//   node ipns-interop.mjs key-read <file>
//     reads a libp2p protobuf private key, prints {"name", "type"}
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createIPNSRecord, marshalIPNSRecord, multihashToIPNSRoutingKey, unmarshalIPNSRecord } from 'ipns'
import { ipnsValidator } from 'ipns/validator'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { CID } from 'multiformats/cid'
import { base36 } from 'multiformats/bases/base36'

const LIBP2P_KEY = 0x72

function nameOf (publicKey) {
  return CID.createV1(LIBP2P_KEY, publicKey.toMultihash()).toString(base36)
}

async function validate (name, file) {
  const bytes = readFileSync(file)
  try {
    const cid = CID.parse(name, base36)
    await ipnsValidator(multihashToIPNSRoutingKey(cid.multihash), bytes)
    const record = unmarshalIPNSRecord(bytes)
    return { valid: true, value: record.value, sequence: Number(record.sequence) }
  } catch (err) {
    return { valid: false, error: String(err && err.message ? err.message : err) }
  }
}

async function create (dir, count, type) {
  const made = []
  for (let k = 0; k < count; k++) {
    const key = await generateKeyPair(type)
    const name = nameOf(key.publicKey)
    for (let seq = 0; seq < 3; seq++) {
      for (const v1 of [true, false]) {
        const value = `/ipfs/bafkqaddwgevxmmraojswg33smq/${k}-${seq}`
        const record = await createIPNSRecord(key, value, seq, 24 * 3600 * 1000, {
          v1Compatible: v1,
          ttlNs: 5n * 60n * 1000000000n
        })
        const file = join(dir, `${name}_${seq}_${v1 ? 'v1' : 'v2'}.rec`)
        writeFileSync(file, marshalIPNSRecord(record))
        made.push({ name, file, value, sequence: seq })
      }
    }
  }
  return made
}

async function keyMake (file, type) {
  const key = await generateKeyPair(type)
  writeFileSync(file, privateKeyToProtobuf(key), { mode: 0o600 })
  return { name: nameOf(key.publicKey) }
}

function keyRead (file) {
  const key = privateKeyFromProtobuf(readFileSync(file))
  return { name: nameOf(key.publicKey), type: key.type }
}

const [mode, a, b, c] = process.argv.slice(2)
const modes = {
  validate: () => validate(a, b),
  create: () => create(a, Number(b), c ?? 'Ed25519'),
  'key-make': () => keyMake(a, b),
  'key-read': () => keyRead(a)
}
const out = await modes[mode]()
process.stdout.write(JSON.stringify(out))
