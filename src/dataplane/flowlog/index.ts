// Flow logs (issue 13): the kernel reader (nflog-reader.ts, conntrack-events.ts and the parsers they use) apart
// from the pure aggregator (aggregator.ts), joined by flow-logs.ts.

export { DEFAULT_INTERVAL_MS, FlowAggregator, type CountersEvent, type VerdictEvent } from './aggregator.js';
export { FlowAttribution, stepsToHits } from './attribution.js';
export { ConntrackEvents, parseConntrackLine, type ConntrackEvent } from './conntrack-events.js';
export { flowKeyText, type FlowCounters, type FlowEndpoint, type FlowKey, type FlowRecord, type PolicyHit, type Reporter } from './flow-record.js';
export { connectionKey, FlowLogs, type FlowLogsOptions } from './flow-logs.js';
export { LINKTYPE_NFLOG, parseNflogRecord, type NflogRecord } from './nflog-record.js';
export { NflogReader, parseNetlinkDrops, type NflogReaderOptions, type ReaderDrops } from './nflog-reader.js';
export { parsePacketHeaders, protocolName, type PacketHeaders } from './packet-headers.js';
export { PacketVerdicts, type KernelHit, type PacketVerdict } from './packet-verdicts.js';
export { PcapStream, PcapStreamError, type PcapHeader, type PcapRecord } from './pcap-stream.js';
export { parsePrefix, type FlowLogPrefix, type MeaningLookup, type PrefixCode } from './prefix.js';
