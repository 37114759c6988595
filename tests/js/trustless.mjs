// Checks rsipfs's trustless gateway with clients that trust nothing it says
// (tests/trustless_js.rs runs it under Node 22):
// - @helia/verified-fetch, given the gateway as its only gateway and no
//   other routing, fetches files and directories (raw blocks, each verified
//   against its CID) and their bytes are compared with what is expected;
// - ipfs-car verifies every block of each `?format=car` answer, lists them,
//   and unpacks the complete ones for comparison.
//
// node trustless.mjs GATEWAY_URL MANIFEST.json WORK_DIR
// MANIFEST: { files: [{ path, expect }], dirs: [{ path, entries, index }],
//             cars: [{ url, root, blocks?, unpack?: "file"|"dir", expect? }] }
// Prints a JSON summary; exits 1 when anything differs.

import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync, readdirSync, statSync, mkdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHeliaLight } from 'helia'
import { withHTTP } from '@helia/http'
import { createVerifiedFetch } from '@helia/verified-fetch'
import * as dagPb from '@ipld/dag-pb'
import { sha512 } from 'multiformats/hashes/sha2'

const [gateway, manifestPath, work] = process.argv.slice(2)
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
const ipfsCar = join(dirname(fileURLToPath(import.meta.url)), 'node_modules/ipfs-car/bin.js')
const failures = []
const fail = (what, why) => failures.push(`${what}: ${why}`)

const same = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0

// Our gateway alone: no delegated routers, no other recursive gateway, no
// libp2p; plain HTTP to a loopback address allowed.
// sha2-512 too: a fixture links a block by one.
const light = createHeliaLight({ hashers: [sha512] })
// A router that knows nothing: with only the (fallback) gateway router,
// helia 7.1's findProviders waits forever on its empty default set.
light.addRouter({ name: 'nothing', findProviders: async function * () {} })
const helia = await withHTTP(light, {
  delegatedRouters: [],
  recursiveGateways: [gateway],
  allowInsecure: true,
  allowLocal: true
}).start()
const verifiedFetch = await createVerifiedFetch(helia)

const url = (path) => `ipfs://${path.split('/').map(encodeURIComponent).join('/')}`

let files = 0
for (const { path, expect } of manifest.files) {
  try {
    const response = await verifiedFetch(url(path))
    const body = new Uint8Array(await response.arrayBuffer())
    if (response.status !== 200) {
      fail(path, `status ${response.status}`)
    } else if (!same(body, readFileSync(expect))) {
      fail(path, `bytes differ (${body.length} received)`)
    } else {
      files++
    }
  } catch (err) {
    fail(path, err.stack ?? err)
  }
}

let dirs = 0
for (const { path, entries, index } of manifest.dirs) {
  try {
    const response = await verifiedFetch(url(path) + '/')
    const body = new Uint8Array(await response.arrayBuffer())
    if (response.status !== 200) {
      fail(path, `status ${response.status}`)
    } else if (index != null) {
      if (same(body, readFileSync(index))) dirs++
      else fail(path, 'index.html differs')
    } else {
      const names = dagPb.decode(body).Links.map(l => l.Name).sort()
      const wanted = [...entries].sort()
      if (JSON.stringify(names) === JSON.stringify(wanted)) dirs++
      else fail(path, `entries ${JSON.stringify(names)} != ${JSON.stringify(wanted)}`)
    }
  } catch (err) {
    fail(path, err.stack ?? err)
  }
}

function run (args) {
  const out = spawnSync(process.execPath, [ipfsCar, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 })
  return { ok: out.status === 0, stdout: out.stdout, stderr: out.stderr }
}

function sameTree (got, expected) {
  const g = statSync(got)
  const e = statSync(expected)
  if (g.isDirectory() !== e.isDirectory()) return false
  if (!g.isDirectory()) return same(readFileSync(got), readFileSync(expected))
  const names = readdirSync(got).sort()
  if (JSON.stringify(names) !== JSON.stringify(readdirSync(expected).sort())) return false
  return names.every(n => sameTree(join(got, n), join(expected, n)))
}

let cars = 0
let blocks = 0
mkdirSync(work, { recursive: true })
for (const [i, car] of manifest.cars.entries()) {
  try {
    const response = await fetch(gateway + car.url)
    const type = response.headers.get('content-type') ?? ''
    const body = new Uint8Array(await response.arrayBuffer())
    if (response.status !== 200 || !type.startsWith('application/vnd.ipld.car; version=1')) {
      fail(car.url, `status ${response.status}, ${type}`)
      continue
    }
    const file = join(work, `${i}.car`)
    writeFileSync(file, body)
    const listed = run(['blocks', file, '--verify'])
    if (!listed.ok) {
      fail(car.url, `ipfs-car blocks --verify: ${listed.stderr}`)
      continue
    }
    const cids = listed.stdout.split('\n').filter(Boolean)
    blocks += cids.length
    const roots = run(['roots', file]).stdout.split('\n').filter(Boolean)
    if (JSON.stringify(roots) !== JSON.stringify([car.root])) {
      fail(car.url, `roots ${roots} != ${car.root}`)
      continue
    }
    if (car.blocks != null && JSON.stringify(cids) !== JSON.stringify(car.blocks)) {
      fail(car.url, `blocks ${JSON.stringify(cids)} != ${JSON.stringify(car.blocks)}`)
      continue
    }
    if (car.unpack === 'file') {
      const out = spawnSync(process.execPath, [ipfsCar, 'unpack', file, '--root', car.root], { maxBuffer: 1 << 28 })
      if (out.status !== 0 || !same(out.stdout, readFileSync(car.expect))) {
        fail(car.url, `unpacked file differs: ${out.stderr}`)
        continue
      }
    } else if (car.unpack === 'dir') {
      const dir = join(work, `${i}.out`)
      const out = run(['unpack', file, '--root', car.root, '--output', dir])
      if (!out.ok || !sameTree(dir, car.expect)) {
        fail(car.url, `unpacked tree differs: ${out.stderr}`)
        continue
      }
    }
    cars++
  } catch (err) {
    fail(car.url, err.stack ?? err)
  }
}

await verifiedFetch.stop()
await helia.stop()
console.log(JSON.stringify({ files, dirs, cars, blocks, failures }))
process.exit(failures.length === 0 ? 0 : 1)
