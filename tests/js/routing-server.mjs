// A delegated routing server for tests/net/delegated_routing.sh: a Helia
// node (TCP on the given address, noise, yamux, a Kad DHT server on
// /ipfs/kad/1.0.0 that keeps loopback addresses, no bootstrap, no
// delegated routers, no gateways) behind
// @helia/delegated-routing-v1-http-api-server, which answers
// /routing/v1 from it.
//
//   node routing-server.mjs LISTEN_IP HTTP_PORT [PEER_MULTIADDR...]
//
// Needs Node 22 (tests/js/node_modules/.bin/node). Dials every given peer,
// then prints one JSON line {"event":"ready","peerId","url"} and runs until
// SIGTERM/SIGINT.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createDelegatedRoutingV1HttpApiServer } from '@helia/delegated-routing-v1-http-api-server'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createHelia } from 'helia'

const [ip, port, ...peers] = process.argv.slice(2)

const helia = await createHelia({
  http: { delegatedRouters: [], recursiveGateways: [] },
  libp2p: {
    addresses: { listen: [`/ip4/${ip}/tcp/0`] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: '/ipfs/kad/1.0.0',
        clientMode: false,
        peerInfoMapper: passthroughMapper
      })
    }
  }
})
await helia.start()

for (const peer of peers) {
  await helia.libp2p.dial(multiaddr(peer), { signal: AbortSignal.timeout(10_000) })
}

const server = await createDelegatedRoutingV1HttpApiServer(helia, {
  listen: { host: ip, port: Number(port) }
})

const stop = async () => {
  await server.close()
  await helia.stop()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

process.stdout.write(JSON.stringify({
  event: 'ready',
  peerId: helia.libp2p.peerId.toString(),
  url: `http://${ip}:${port}`
}) + '\n')
