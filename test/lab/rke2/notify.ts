// sd_notify(3) from the main process itself, so that the units can be Type=notify like RKE2's
// (systemctl start returns once the node is up). `systemd-notify --ready` from a child would need
// NotifyAccess=all and races with its own exit on systemd 252 (the sender's cgroup is gone by the
// time systemd looks it up); sending the datagram from the main PID has no such race.

import { dlopen, FFIType, ptr } from "bun:ffi";

const AF_UNIX = 1;
const SOCK_DGRAM_CLOEXEC = 2 | 0o2000000;

/** Sends `state` (e.g. "READY=1") to $NOTIFY_SOCKET; a no-op outside systemd. */
export function sdNotify(state: string): void {
  const socketPath = process.env.NOTIFY_SOCKET;
  if (socketPath === undefined || socketPath === "") return;
  const libc = dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  });
  try {
    const abstract = socketPath.startsWith("@");
    const path = new TextEncoder().encode(abstract ? `\0${socketPath.slice(1)}` : socketPath);
    const address = new Uint8Array(110); // struct sockaddr_un
    new DataView(address.buffer).setUint16(0, AF_UNIX, true);
    address.set(path, 2);
    const fd = libc.symbols.socket(AF_UNIX, SOCK_DGRAM_CLOEXEC, 0);
    if (fd < 0) throw new Error("sd_notify: socket() failed");
    const message = new TextEncoder().encode(state);
    const sent = libc.symbols.sendto(fd, ptr(message), message.length, 0, ptr(address), 2 + path.length + (abstract ? 0 : 1));
    libc.symbols.close(fd);
    if (Number(sent) !== message.length) throw new Error(`sd_notify: sendto() to ${socketPath} failed`);
  } finally {
    libc.close();
  }
}
