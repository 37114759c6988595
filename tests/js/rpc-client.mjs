// Drives a running rsipfs daemon's RPC API with the official kubo-rpc-client
// and prints what it got back as JSON, for tests/rpc_client.rs to check.
// Usage: node rpc-client.mjs http://127.0.0.1:<port>
import { create } from 'kubo-rpc-client'

const client = create({ url: `${process.argv[2]}/api/v0` })
const text = (chunks) => Buffer.concat(chunks.map((c) => Buffer.from(c))).toString('utf8')
const collect = async (iterable) => {
  const items = []
  for await (const item of iterable) items.push(item)
  return items
}

const single = await client.add({ path: 'hello.txt', content: 'hello from kubo-rpc-client\n' })
const tree = await collect(client.addAll([
  { path: 'dir/a.txt', content: 'first file\n' },
  { path: 'dir/sub/b.txt', content: 'second file\n' },
  { path: 'dir/empty', content: undefined },
]))
const root = tree[tree.length - 1]
const progress = []
const big = await client.add(
  { path: 'big.bin', content: new Uint8Array(3 * 262144 + 5).fill(7) },
  { progress: (bytes, path) => progress.push({ bytes, path }) },
)
const cat = text(await collect(client.cat(single.cid)))
const listing = await collect(client.ls(root.cid))

await client.files.mkdir('/notes', { parents: true })
await client.files.write('/notes/todo.txt', 'write through the API\n', { create: true })
const read = text(await collect(client.files.read('/notes/todo.txt')))
const stat = await client.files.stat('/notes/todo.txt')
const pins = await collect(client.pin.ls({ type: 'recursive' }))

console.log(JSON.stringify({
  single: { cid: single.cid.toString(), path: single.path, size: single.size },
  tree: tree.map((e) => ({ cid: e.cid.toString(), path: e.path })),
  big: { cid: big.cid.toString(), size: big.size },
  progress,
  cat,
  listing: listing.map((e) => ({ name: e.name, cid: e.cid.toString(), type: e.type, size: e.size })),
  read,
  stat: { cid: stat.cid.toString(), size: stat.size, type: stat.type },
  pins: pins.map((p) => ({ cid: p.cid.toString(), type: p.type })),
}))
