// One LINKTYPE_NFLOG (239) record: the nflog header (family, version, group as big-endian resource id) and the
// netlink attributes of nfnetlink_log as TLVs. TLV length and type are in the capturing host's byte order
// (tcpdump.org's LINKTYPE_NFLOG page), so the pcap header's byte order is passed in; values inside are network
// order. Measured on this kernel (6.x, nft `log group 1 snaplen 80` on output): packet header (1), prefix (10),
// outdev (5), uid (11), gid (14), payload (9) of 80 bytes — no sequence attribute, since libpcap does not ask for
// NFULNL_CFG_F_SEQ; losses are counted by libpcap as ENOBUFS instead (reader.ts).

export const LINKTYPE_NFLOG = 239;

const NFULA_PACKET_HDR = 1;
const NFULA_TIMESTAMP = 3;
const NFULA_IFINDEX_INDEV = 4;
const NFULA_IFINDEX_OUTDEV = 5;
const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;
const NFULA_SEQ = 12;
const NFULA_SEQ_GLOBAL = 13;

export interface NflogRecord {
  /** AF_INET (2), AF_INET6 (10), or 1 (NFPROTO_INET) as the inet table reports. */
  family: number;
  group: number;
  prefix: string;
  /** The packet from its network header, at most the rule's snaplen. */
  payload: Buffer;
  /** EtherType of the payload from the packet header (0x0800, 0x86dd). */
  hwProtocol?: number;
  hook?: number;
  inIfindex?: number;
  outIfindex?: number;
  /** Kernel timestamp (ms since epoch), when the skb carried one (ingress paths). */
  kernelTimeMs?: number;
  /** Per-group and global sequence numbers, present only if the listener asked for them. */
  seq?: number;
  seqGlobal?: number;
}

export class NflogRecordError extends Error {}

export function parseNflogRecord(data: Buffer, littleEndian: boolean): NflogRecord {
  if (data.length < 4) throw new NflogRecordError(`NFLOG record of ${data.length} bytes (the header alone is 4)`);
  const rec: NflogRecord = { family: data[0]!, group: data.readUInt16BE(2), prefix: '', payload: Buffer.alloc(0) };
  let off = 4;
  while (off + 4 <= data.length) {
    const len = littleEndian ? data.readUInt16LE(off) : data.readUInt16BE(off);
    const type = (littleEndian ? data.readUInt16LE(off + 2) : data.readUInt16BE(off + 2)) & 0x7fff;
    if (len < 4) throw new NflogRecordError(`NFLOG attribute of length ${len} at offset ${off}`);
    // A truncated last attribute (a capture cut short) keeps what is there.
    const value = data.subarray(off + 4, Math.min(off + len, data.length));
    switch (type) {
      case NFULA_PACKET_HDR:
        if (value.length >= 3) {
          rec.hwProtocol = value.readUInt16BE(0);
          rec.hook = value[2]!;
        }
        break;
      case NFULA_TIMESTAMP:
        if (value.length >= 16) {
          rec.kernelTimeMs = Number(value.readBigUInt64BE(0)) * 1000 + Number(value.readBigUInt64BE(8)) / 1000;
        }
        break;
      case NFULA_IFINDEX_INDEV: if (value.length >= 4) rec.inIfindex = value.readUInt32BE(0); break;
      case NFULA_IFINDEX_OUTDEV: if (value.length >= 4) rec.outIfindex = value.readUInt32BE(0); break;
      case NFULA_PAYLOAD: rec.payload = Buffer.from(value); break;
      case NFULA_PREFIX: {
        const nul = value.indexOf(0);
        rec.prefix = value.subarray(0, nul < 0 ? value.length : nul).toString('latin1');
        break;
      }
      case NFULA_SEQ: if (value.length >= 4) rec.seq = value.readUInt32BE(0); break;
      case NFULA_SEQ_GLOBAL: if (value.length >= 4) rec.seqGlobal = value.readUInt32BE(0); break;
      default: break;
    }
    off += (len + 3) & ~3;
  }
  return rec;
}
