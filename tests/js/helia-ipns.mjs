// A Helia node for the IPNS interop tests (tests/ipns_helia.rs): TCP on
// 127.0.0.1, noise, yamux, a Kad DHT on /ipfs/kad/1.0.0 (a server) that keeps
// loopback addresses, bitswap, and nothing that reaches outside (no
// bootstrap, no mDNS, no delegated routing, no gateways).
//
//   node helia-ipns.mjs [--client] [PEER_MULTIADDR...]
//
// --client runs the DHT in client mode (Helia's usual mode on a node without
// a public address): it asks and puts, but serves no one.
// Needs Node 22 (tests/js/node_modules/.bin/node). Dials every given peer,
// then prints one JSON line {"event":"ready","peerId","addrs"} and reads
// commands from stdin, one a line, answering each with one JSON line
// ({"ok":true,...} or {"ok":false,"error"}); it stops when stdin closes or
// on SIGTERM/SIGINT.
//   dial MULTIADDR              -> {"ok":true,"peer"}
//   add TEXT                    stores TEXT as a raw block and announces it
//                               -> {"ok":true,"cid"}
//   publish KEY VALUE           VALUE: a CID or a /ipfs/ or /ipns/ path;
//                               -> {"ok":true,"name","peerId","value","sequence"}
//                               (name: base36 CIDv1 libp2p-key, k51...)
//   resolve NAME TIMEOUT_MS     through the DHT, no cache
//                               -> {"ok":true,"value","sequence"}
//   get CID TIMEOUT_MS          the block's bytes, over bitswap if not here
//                               -> {"ok":true,"text"}
//   put-bad forged|expired KEY VALUE SEQUENCE
//                               puts to the DHT, under KEY's name, a record
//                               signed by another key or already expired
//                               -> {"ok":true,"answered":[peer id...]}
//   peers                       -> {"ok":true,"peers":[peer id...]}
//   dht-peers                   the DHT routing table -> {"ok":true,"peers"}
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createIPNSRecord, ipns, IPNSEntry, multihashToIPNSRoutingKey } from '@helia/ipns'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createHelia } from 'helia'
import { ipnsSelector } from 'ipns/selector'
import { ipnsValidator } from 'ipns/validator'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

const say = (line) => process.stdout.write(JSON.stringify(line) + '\n')
const args = process.argv.slice(2)
const clientMode = args[0] === '--client'
const peers = clientMode ? args.slice(1) : args

const helia = await createHelia({
  // createHelia adds delegated routers and public gateways unless told not to.
  http: { delegatedRouters: [], recursiveGateways: [] },
  libp2p: {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // Helia's defaults discover peers through bootstrap nodes and mDNS.
    peerDiscovery: [],
    // libp2p refuses to dial private addresses by default; everything here
    // is on 127.0.0.1.
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: '/ipfs/kad/1.0.0',
        clientMode,
        // The default mapper drops private (so loopback) addresses from the
        // peers the DHT learns and hands out.
        peerInfoMapper: passthroughMapper,
        // The DHT knows only `pk` records by itself.
        validators: { ipns: ipnsValidator },
        selectors: { ipns: ipnsSelector }
      })
    }
  }
})
await helia.start()
const name = ipns(helia)

async function dial (addr) {
  const connection = await helia.libp2p.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
  return { peer: connection.remotePeer.toString() }
}

const commands = {
  dial,
  async add (...words) {
    const bytes = new TextEncoder().encode(words.join(' '))
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    await helia.blockstore.put(cid, bytes)
    // Announcing is best effort: rsipfs also asks its connected peers.
    await helia.routing.provide(cid, { signal: AbortSignal.timeout(10_000) }).catch(() => {})
    return { cid: cid.toString() }
  },
  async publish (key, value) {
    const target = value.startsWith('/') ? value : CID.parse(value)
    const published = await name.publish(key, target, { signal: AbortSignal.timeout(30_000) })
    return {
      name: published.name.replace(/^\/ipns\//, ''),
      peerId: helia.libp2p.peerId.toString(),
      value: new TextDecoder().decode(published.record.value),
      sequence: Number(published.record.sequence)
    }
  },
  async resolve (target, timeoutMs) {
    let last
    const signal = AbortSignal.timeout(Number(timeoutMs))
    for await (const result of name.resolve(target, { signal, nocache: true })) {
      last = result
    }
    if (last == null) throw new Error(`nothing resolved for ${target}`)
    return { value: last.value, sequence: Number(last.record.sequence) }
  },
  async 'put-bad' (kind, key, value, sequence) {
    const owner = await helia.keychain.exportKey(key)
    const lifetime = 3_600_000
    const record = kind === 'forged'
      ? await createIPNSRecord(await forger(), value, BigInt(sequence), lifetime)
      : await createIPNSRecord(owner, value, BigInt(sequence), lifetime, { now: Date.now() - 2 * lifetime })
    const routingKey = multihashToIPNSRoutingKey(owner.publicKey.toMultihash())
    const answered = []
    const events = helia.libp2p.services.dht.put(routingKey, IPNSEntry.encode(record), { signal: AbortSignal.timeout(30_000) })
    for await (const event of events) {
      if (event.name === 'PEER_RESPONSE') answered.push(event.from.toString())
    }
    return { answered }
  },
  async get (cid, timeoutMs) {
    const bytes = await helia.blockstore.get(CID.parse(cid), { signal: AbortSignal.timeout(Number(timeoutMs)) })
    const chunks = []
    // blockstore.get gives bytes or, in some versions, an async iterable.
    if (bytes instanceof Uint8Array) chunks.push(bytes)
    else for await (const chunk of bytes) chunks.push(chunk)
    return { text: Buffer.concat(chunks).toString() }
  },
  async peers () {
    return { peers: helia.libp2p.getPeers().map(String) }
  },
  async 'dht-peers' () {
    const table = helia.libp2p.services.dht.routingTable
    return { peers: [...(table.kb?.toIterable() ?? [])].map(p => p.peerId.toString()) }
  }
}

async function forger () {
  return await helia.keychain.exportKey('forger').catch(() => helia.keychain.generateKey('forger'))
}

let stopping = false
async function stop () {
  if (stopping) return
  stopping = true
  await helia.stop().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

for (const addr of peers) {
  try {
    await dial(addr)
  } catch (err) {
    say({ event: 'error', error: `dial ${addr}: ${err.message ?? err}` })
  }
}
say({
  event: 'ready',
  peerId: helia.libp2p.peerId.toString(),
  addrs: helia.libp2p.getMultiaddrs().map(String)
})

// One command at a time, in order.
const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  const [command, ...args] = line.trim().split(/\s+/)
  if (command === '') continue
  const run = commands[command]
  try {
    if (run == null) throw new Error(`unknown command ${command}`)
    say({ ok: true, command, ...(await run(...args)) })
  } catch (err) {
    say({ ok: false, command, error: String(err?.message ?? err) })
  }
}
await stop()
