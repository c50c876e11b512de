/* SPDX-License-Identifier: MIT */
/*
 * s3_xml.h - the one or two fields wanted from S3's small XML answers:
 * InitiateMultipartUploadResult, CompleteMultipartUploadResult,
 * CopyObjectResult and Error.  (Listings have their own parser, s3_list.h.)
 *
 * Pure: no I/O, so tests feed it bodies directly.
 */
#ifndef CLOUDSHIM_S3_XML_H
#define CLOUDSHIM_S3_XML_H

#include <stddef.h>

/*
 * The name of the root element of xml[0..len) ("Error"), namespace
 * prefix dropped, into out (n bytes): 0, or -EIO when there is none or it
 * does not fit.
 */
int s3_xml_root(const char *xml, size_t len, char *out, size_t n);

/*
 * The text of the first element called name, entities decoded, into out
 * (n bytes): 0, -ENOENT when there is no such element, -EIO when its text
 * is malformed or does not fit.
 */
int s3_xml_text(const char *xml, size_t len, const char *name, char *out, size_t n);

#endif
