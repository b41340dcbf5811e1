/*
 * err.c - names for the wire layer's rejection reasons, for logs and traces.
 */
#include "wire/wire.h"

const char *sn_wire_err_str(enum sn_wire_err e)
{
	switch (e) {
	case SN_WIRE_OK:
		return "ok";
	case SN_WIRE_SHORT:
		return "shorter than the header";
	case SN_WIRE_BAD_LEN:
		return "length field disagrees with the buffer";
	case SN_WIRE_BAD_VERSION:
		return "not IP version 4";
	case SN_WIRE_BAD_HDR:
		return "bad header length";
	case SN_WIRE_BAD_CSUM:
		return "bad checksum";
	case SN_WIRE_FRAGMENT:
		return "IPv4 fragment";
	case SN_WIRE_BAD_OPTION:
		return "malformed TCP option";
	case SN_WIRE_UNSUPPORTED:
		return "unsupported";
	}
	/* A value outside the enum (a caller's cast); never index with it. */
	return "unknown wire error";
}
