/* Per stack host counters, named exactly as in Linux's /proc/net/snmp and
 * /proc/net/netstat so that existing tools and habits carry over.
 *
 * Each group is an X-macro list: the struct fields, the header line and the
 * value line of the procfs rendering all come from the same list, in Linux's
 * order. Only the loop thread writes them. */
#ifndef TL_NETEMU_COUNTERS_H
#define TL_NETEMU_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

/* /proc/net/snmp "Ip:" (Forwarding and DefaultTTL are settings there). */
#define TL_MIB_IP(X)                                                         \
	X(Forwarding)      /* 1 = router, 2 = host */                               \
	X(DefaultTTL)      /* TTL of datagrams we originate */                      \
	X(InReceives)      /* datagrams handed up by Ethernet */                    \
	X(InHdrErrors)     /* bad version, IHL, length, checksum, TTL */            \
	X(InAddrErrors)    /* destination not ours */                               \
	X(ForwDatagrams)   /* forwarded (router labs) */                            \
	X(InUnknownProtos) /* no handler for the protocol */                        \
	X(InDiscards)      /* dropped for lack of resources */                      \
	X(InDelivers)      /* delivered to ICMP/TCP/UDP */                          \
	X(OutRequests)     /* datagrams we originated */                            \
	X(OutDiscards)     /* dropped on output for lack of resources */            \
	X(OutNoRoutes)     /* no route to the destination */                        \
	X(ReasmTimeout)    /* always 0: we do not reassemble */                     \
	X(ReasmReqds)      /* fragments received */                                 \
	X(ReasmOKs)        /* always 0: we do not reassemble */                     \
	X(ReasmFails)      /* fragments dropped (one per fragment) */               \
	X(FragOKs)                                                                  \
	X(FragFails)       /* would need fragmenting with DF or at all: dropped */  \
	X(FragCreates)                                                              \
	X(OutTransmits)    /* datagrams passed to Ethernet */

/* /proc/net/snmp "Icmp:" */
#define TL_MIB_ICMP(X)                                                       \
	X(InMsgs) X(InErrors) X(InCsumErrors) X(InDestUnreachs) X(InTimeExcds)     \
	X(InParmProbs) X(InSrcQuenchs) X(InRedirects) X(InEchos) X(InEchoReps)     \
	X(InTimestamps) X(InTimestampReps) X(InAddrMasks) X(InAddrMaskReps)        \
	X(OutMsgs) X(OutErrors) X(OutRateLimitGlobal) X(OutRateLimitHost)          \
	X(OutDestUnreachs) X(OutTimeExcds) X(OutParmProbs) X(OutSrcQuenchs)        \
	X(OutRedirects) X(OutEchos) X(OutEchoReps) X(OutTimestamps)                \
	X(OutTimestampReps) X(OutAddrMasks) X(OutAddrMaskReps)

/* /proc/net/snmp "Tcp:" (RtoAlgorithm..MaxConn are constants, see
 * counters_render_snmp). CurrEstab is a gauge. */
#define TL_MIB_TCP(X)                                                        \
	X(RtoAlgorithm) X(RtoMin) X(RtoMax) X(MaxConn) X(ActiveOpens)              \
	X(PassiveOpens) X(AttemptFails) X(EstabResets) X(CurrEstab) X(InSegs)      \
	X(OutSegs) X(RetransSegs) X(InErrs) X(OutRsts) X(InCsumErrors)

/* /proc/net/snmp "Udp:" (we have no UDP sockets: datagrams get
 * port-unreachable and count as NoPorts). */
#define TL_MIB_UDP(X)                                                        \
	X(InDatagrams) X(NoPorts) X(InErrors) X(OutDatagrams) X(RcvbufErrors)      \
	X(SndbufErrors) X(InCsumErrors) X(IgnoredMulti) X(MemErrors)

/* /proc/net/netstat "TcpExt:": the counters our TCP can honestly count. */
#define TL_MIB_TCPEXT(X)                                                     \
	X(SyncookiesSent) X(SyncookiesRecv) X(SyncookiesFailed) X(EmbryonicRsts)   \
	X(TW) X(TWRecycled) X(TWKilled) X(PAWSEstab) X(DelayedACKs)                \
	X(ListenOverflows) X(ListenDrops) X(TCPPureAcks) X(TCPRenoRecovery)        \
	X(TCPSackRecovery) X(TCPTimeouts) X(TCPLossProbes) X(TCPFastRetrans)       \
	X(TCPSlowStartRetrans) X(TCPAbortOnData) X(TCPAbortOnClose)                \
	X(TCPAbortOnTimeout) X(TCPAbortOnLinger) X(TCPOFOQueue) X(TCPOFODrop)      \
	X(TCPSpuriousRTOs) X(TCPSACKReneging) X(TCPSackShifted) X(TCPDSACKRecv)    \
	X(TCPChallengeACK) X(TCPSYNChallenge) X(TCPReqQFullDoCookies)              \
	X(TCPReqQFullDrop) X(TCPKeepAlive) X(TCPWinProbe)                          \
	X(TCPToZeroWindowAdv) X(TCPFromZeroWindowAdv) X(TCPZeroWindowDrop)         \
	X(TCPSynRetrans) X(TCPOrigDataSent) X(TCPTimeWaitOverflow)                 \
	X(TCPACKSkippedSynRecv) X(TCPACKSkippedTimeWait) X(TCPDelivered)          \
	X(TCPDSACKOldSent) X(TCPDSACKOfoSent) X(OutOfWindowIcmps) X(TCPDeliveredCE)

/* tcplab's own link-level counters (Linux keeps these per device, not in
 * procfs MIBs): printed under "TlExt:" in net/netstat. */
#define TL_MIB_TLEXT(X)                                                      \
	X(RxFrames)          /* frames handed to the stack */                       \
	X(RxRunts)           /* shorter than an Ethernet header: dropped */         \
	X(RxNotForUs)        /* unicast to another MAC: dropped */                  \
	X(RxUnknownEthertype)                                                       \
	X(TxFrames)                                                                 \
	X(ArpIn)             /* well-formed ARP packets received */                 \
	X(ArpMalformed)      /* truncated or not Ethernet/IPv4 ARP: dropped */      \
	X(ArpRequestsSent) X(ArpRepliesSent)                                        \
	X(ArpQueueDrops)     /* frames dropped: resolution queue full or failed */  \
	X(ArpResolveFails)   /* neighbours that never answered */

#define TL_MIB_FIELD(name) uint64_t name;

struct mib_ip { TL_MIB_IP(TL_MIB_FIELD) };
struct mib_icmp { TL_MIB_ICMP(TL_MIB_FIELD) };
struct mib_tcp { TL_MIB_TCP(TL_MIB_FIELD) };
struct mib_udp { TL_MIB_UDP(TL_MIB_FIELD) };
struct mib_tcpext { TL_MIB_TCPEXT(TL_MIB_FIELD) };
struct mib_tlext { TL_MIB_TLEXT(TL_MIB_FIELD) };

struct stack_counters {
	struct mib_ip ip;
	struct mib_icmp icmp;
	struct mib_tcp tcp;
	struct mib_udp udp;
	struct mib_tcpext tcpext;
	struct mib_tlext tlext;
};

/* Renders the /proc/net/snmp text (Ip, Icmp, Tcp, Udp pairs) into buf;
 * returns the length it needs (like snprintf). */
size_t counters_render_snmp(const struct stack_counters *c, char *buf, size_t cap);
/* Renders the /proc/net/netstat text (TcpExt, TlExt pairs). */
size_t counters_render_netstat(const struct stack_counters *c, char *buf, size_t cap);

#endif
