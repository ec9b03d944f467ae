/*
 * callbacks.h - the xxfi_* table handed to smfi_register()
 */
#ifndef RG_CALLBACKS_H
#define RG_CALLBACKS_H

#include <libmilter/mfapi.h>

extern struct smfiDesc rg_milter_desc;

#endif
