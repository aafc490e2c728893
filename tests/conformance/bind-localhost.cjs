// Preloaded into the conformance suite (NODE_OPTIONS=--require ...): its mock
// servers call listen(0) without a host, which binds every interface. This
// wrapper makes a listen without a host bind the loopback address instead.
// It wraps the step that opens the socket (Server.prototype._listen2, which
// listen() reaches synchronously when no host is given), so servers that read
// server.address() right after listen() still see their port at once.
"use strict";
const net = require("net");

const original = net.Server.prototype._listen2;
if (typeof original !== "function") {
  throw new Error("bind-localhost.cjs: net.Server.prototype._listen2 is missing in this Node version");
}
net.Server.prototype._listen2 = function _listen2(address, port, addressType, backlog, fd, flags) {
  if (!address && typeof fd !== "number") {
    address = "127.0.0.1";
    addressType = 4;
  }
  return original.call(this, address, port, addressType, backlog, fd, flags);
};
