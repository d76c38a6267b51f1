// Starts kinesalite bound to loopback only (its CLI listens on every
// interface) and prints the port it got, so callers can ask for port 0.
'use strict';
const kinesalite = require('kinesalite');

const port = Number(process.argv[2] || 0);
const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`kinesalite listening on 127.0.0.1:${server.address().port}\n`);
});
// Exit with the parent: stdin closes when the process that started us dies.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
