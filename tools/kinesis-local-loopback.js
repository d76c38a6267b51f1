// Starts kinesis-local (kinesis-mock's Node build) bound to loopback only: it
// binds 0.0.0.0 with no setting to change that, so every server it opens is
// made to listen on 127.0.0.1 instead. Ports come from KINESIS_MOCK_PLAIN_PORT
// and KINESIS_MOCK_TLS_PORT; the caller waits until the plain port listens.
'use strict';
const net = require('net');
const path = require('path');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args[0] !== null && typeof args[0] === 'object') {
    args[0] = { ...args[0], host: '127.0.0.1' };
  } else if (typeof args[1] === 'string') {
    args[1] = '127.0.0.1';
  } else {
    args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
const module_dir = path.dirname(require.resolve('kinesis-local/package.json'));
// Its self-signed certificate for the TLS port, which it reads from the working directory otherwise.
process.env.KINESIS_MOCK_CERT_PATH = process.env.KINESIS_MOCK_CERT_PATH || path.join(module_dir, 'server.json');
// Exit with the parent: stdin closes when the process that started us dies.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
require(path.join(module_dir, 'main.js'));
