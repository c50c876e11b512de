/* SPDX-License-Identifier: MIT */
/*
 * test_s3_list.c - ListObjectsV2 bodies as AWS, radosgw and s3rver send
 * them: names, sizes, times, ETags, prefixes, markers, entities, paging;
 * and bodies that are not listings (errors, cut short, mangled) -> -EIO.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/s3_list.h"
#include "tests/unit/check.h"

/* AWS: namespace, Owner and StorageClass, a marker, a subdirectory. */
static const char aws_page[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>bucket</Name><Prefix>data/set/</Prefix>"
	"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
	"<KeyCount>4</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
	"<IsTruncated>true</IsTruncated>\n"
	"  <Contents>\n    <Key>data/set/</Key>\n"
	"    <LastModified>2024-01-02T03:04:05.000Z</LastModified>\n"
	"    <ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>\n"
	"    <Size>0</Size><StorageClass>STANDARD</StorageClass>\n  </Contents>\n"
	"  <Contents><Key>data/set/shard-0001.tar</Key>"
	"<LastModified>2024-05-01T12:34:56.789Z</LastModified>"
	"<ETag>&quot;0a1b2c3d4e5f-12&quot;</ETag><Size>1073741824000</Size>"
	"<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
	"<DisplayName>me</DisplayName></Owner>"
	"<StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key>data/set/a &amp; b &lt;c&gt; &apos;d&apos; &#233;&#x20AC;</Key>"
	"<LastModified>2024-05-01T12:34:56Z</LastModified><ETag>\"e\"</ETag><Size>7</Size></Contents>"
	"<CommonPrefixes><Prefix>data/set/sub/</Prefix></CommonPrefixes>"
	"</ListBucketResult>";

/* radosgw with encoding-type=url: keys percent-encoded, '+' a space. */
static const char rgw_page[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult "
	"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><EncodingType>url</EncodingType>"
	"<Name>test</Name><Prefix>t1/odd/</Prefix><MaxKeys>1000</MaxKeys>"
	"<Delimiter>/</Delimiter><IsTruncated>false</IsTruncated>"
	"<Contents><Key>t1%2Fodd%2Fa%20b</Key><LastModified>2026-11-23T12:23:13.270Z</LastModified>"
	"<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size>"
	"<StorageClass>STANDARD</StorageClass><Type>Normal</Type></Contents>"
	"<Contents><Key>t1%2Fodd%2Fa%2Bb</Key><LastModified>2026-11-23T12:23:13.283Z</LastModified>"
	"<ETag>&quot;x&quot;</ETag><Size>1</Size></Contents>"
	"<Contents><Key>t1/odd/c+d</Key><LastModified>2026-11-23T12:23:13.283Z</LastModified>"
	"<ETag>&quot;x&quot;</ETag><Size>2</Size></Contents>"
	"<Contents><Key>t1%2Fodd%2F100%25%3F%23</Key><LastModified>2026-11-23T12:23:13.283Z</LastModified>"
	"<ETag>&quot;x&quot;</ETag><Size>3</Size></Contents>"
	"<Contents><Key>t1%2Fodd%2Ftab%09x%C3%A9</Key><LastModified>2026-11-23T12:23:13.283Z</LastModified>"
	"<ETag>&quot;x&quot;</ETag><Size>4</Size></Contents>"
	"<Contents><Key>t1%2Fodd%2Fit&apos;s</Key><LastModified>2026-11-23T12:23:13.283Z</LastModified>"
	"<ETag>&quot;x&quot;</ETag><Size>5</Size></Contents>"
	"<CommonPrefixes><Prefix>t1%2Fodd%2Fsub%20dir%2F</Prefix></CommonPrefixes>"
	"<KeyCount>7</KeyCount></ListBucketResult>";

/* s3rver: no EncodingType (it ignores the parameter), raw keys. */
static const char s3rver_page[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
	"xmlns=\"http://doc.s3.amazonaws.com/2006-03-01/\"><Name>test</Name><Prefix></Prefix>"
	"<KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
	"<IsTruncated>false</IsTruncated>"
	"<Contents><Key>100%20</Key><LastModified>2026-11-23T12:22:57.000Z</LastModified>"
	"<ETag>&quot;d41d&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key>a+b</Key><LastModified>2026-11-23T12:22:57.000Z</LastModified>"
	"<ETag>&quot;d41d&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>"
	"<CommonPrefixes><Prefix>big/</Prefix></CommonPrefixes>"
	"<CommonPrefixes><Prefix>odd/</Prefix></CommonPrefixes>"
	"</ListBucketResult>";

static int parse(const char *xml, const char *prefix, struct s3_list_page *pg)
{
	return s3_list_parse(xml, strlen(xml), prefix, pg);
}

static const struct store_entry *find(const struct s3_list_page *pg, const char *name)
{
	for (size_t i = 0; i < pg->count; i++)
		if (strcmp(pg->entries[i].name, name) == 0)
			return &pg->entries[i];
	return NULL;
}

static void test_aws(void)
{
	struct s3_list_page pg;
	const struct store_entry *e;

	CHECK(parse(aws_page, "data/set/", &pg) == 0);
	CHECK(pg.found && pg.truncated);
	CHECK(pg.next_token &&
	      strcmp(pg.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=") == 0);
	CHECK(pg.count == 3);	/* the marker "data/set/" is not an entry */
	e = find(&pg, "shard-0001.tar");
	CHECK(e && e->meta.kind == STORE_FILE && e->meta.size == 1073741824000LL);
	CHECK(e && e->meta.mtime.tv_sec == 1714566896 && e->meta.mtime.tv_nsec == 789000000);
	CHECK(e && strcmp(e->meta.etag, "\"0a1b2c3d4e5f-12\"") == 0);
	e = find(&pg, "a & b <c> 'd' \xc3\xa9\xe2\x82\xac");
	CHECK(e && e->meta.size == 7 && strcmp(e->meta.etag, "\"e\"") == 0);
	CHECK(e && e->meta.mtime.tv_sec == 1714566896 && e->meta.mtime.tv_nsec == 0);
	e = find(&pg, "sub");
	CHECK(e && e->meta.kind == STORE_DIR && e->meta.size == 0 && e->meta.etag[0] == '\0');
	CHECK(find(&pg, "") == NULL);
	s3_list_page_free(&pg);
}

static void test_rgw(void)
{
	struct s3_list_page pg;
	const struct store_entry *e;

	CHECK(parse(rgw_page, "t1/odd/", &pg) == 0);
	CHECK(pg.found && !pg.truncated && pg.next_token == NULL);
	CHECK(pg.count == 7);
	CHECK(find(&pg, "a b") != NULL);
	CHECK(find(&pg, "a+b") && find(&pg, "a+b")->meta.size == 1);
	CHECK(find(&pg, "c d") && find(&pg, "c d")->meta.size == 2);	/* AWS's '+' */
	CHECK(find(&pg, "100%?#") && find(&pg, "100%?#")->meta.size == 3);
	CHECK(find(&pg, "tab\tx\xc3\xa9") != NULL);
	CHECK(find(&pg, "it's") != NULL);
	e = find(&pg, "sub dir");
	CHECK(e && e->meta.kind == STORE_DIR);
	s3_list_page_free(&pg);
}

static void test_s3rver(void)
{
	struct s3_list_page pg;

	/* not url-encoded: "%20" and '+' are the key's own bytes */
	CHECK(parse(s3rver_page, "", &pg) == 0);
	CHECK(pg.count == 4 && pg.found);
	CHECK(find(&pg, "100%20") && find(&pg, "a+b"));
	CHECK(find(&pg, "big") && find(&pg, "big")->meta.kind == STORE_DIR);
	CHECK(find(&pg, "odd") && find(&pg, "odd")->meta.kind == STORE_DIR);
	s3_list_page_free(&pg);
}

#define HEAD "<ListBucketResult><IsTruncated>false</IsTruncated>"
#define FILE_(k) "<Contents><Key>" k "</Key><Size>1</Size></Contents>"
#define DIR_(k) "<CommonPrefixes><Prefix>" k "</Prefix></CommonPrefixes>"

static void test_skips_and_found(void)
{
	struct s3_list_page pg;

	/* only the marker: the directory exists and is empty */
	CHECK(parse(HEAD FILE_("d/") "</ListBucketResult>", "d/", &pg) == 0);
	CHECK(pg.found && pg.count == 0);
	s3_list_page_free(&pg);
	/* nothing at all */
	CHECK(parse(HEAD "</ListBucketResult>", "d/", &pg) == 0);
	CHECK(!pg.found && pg.count == 0);
	s3_list_page_free(&pg);
	/* "d//" gives no name, "d/s/t" none in d/, keys outside the prefix are not ours */
	CHECK(parse(HEAD DIR_("d//") FILE_("e/x") FILE_("d/ok") DIR_("d/s/") FILE_("d/s/t")
		    "</ListBucketResult>", "d/", &pg) == 0);
	CHECK(pg.found && pg.count == 2 && find(&pg, "ok") && find(&pg, "s"));
	s3_list_page_free(&pg);
	/* a file and a prefix of one name both come through (dir.c merges) */
	CHECK(parse(HEAD FILE_("a") DIR_("a/") "</ListBucketResult>", "", &pg) == 0);
	CHECK(pg.count == 2 && pg.entries[0].meta.kind == STORE_FILE &&
	      pg.entries[1].meta.kind == STORE_DIR);
	CHECK(strcmp(pg.entries[0].name, "a") == 0 && strcmp(pg.entries[1].name, "a") == 0);
	s3_list_page_free(&pg);
}

static void test_syntax(void)
{
	struct s3_list_page pg;

	/* comments, CDATA, a self-closed element, spaces in an end tag */
	CHECK(parse("<?xml version=\"1.0\"?><!-- hi --><ListBucketResult a='>'>"
		    "<IsTruncated>false</IsTruncated ><Prefix/>"
		    "<Contents><Key>x<!-- c -->y<![CDATA[<&z>]]></Key><Size>12</Size>"
		    "<ETag/></Contents></ListBucketResult>\n", "", &pg) == 0);
	CHECK(pg.count == 1 && find(&pg, "xy<&z>") && find(&pg, "xy<&z>")->meta.size == 12);
	s3_list_page_free(&pg);
	/* a namespace prefix on every element */
	CHECK(parse("<s3:ListBucketResult xmlns:s3=\"u\"><s3:IsTruncated>true</s3:IsTruncated>"
		    "<s3:NextContinuationToken>t&amp;k</s3:NextContinuationToken>"
		    "<s3:Contents><s3:Key>k</s3:Key><s3:Size>3</s3:Size></s3:Contents>"
		    "</s3:ListBucketResult>", "", &pg) == 0);
	CHECK(pg.truncated && pg.next_token && strcmp(pg.next_token, "t&k") == 0);
	CHECK(pg.count == 1 && find(&pg, "k"));
	s3_list_page_free(&pg);
	/* a time zone offset */
	CHECK(parse(HEAD "<Contents><Key>k</Key><Size>3</Size>"
		    "<LastModified>2024-05-01T14:34:56+02:00</LastModified></Contents>"
		    "</ListBucketResult>", "", &pg) == 0);
	CHECK(pg.count == 1 && pg.entries[0].meta.mtime.tv_sec == 1714566896);
	s3_list_page_free(&pg);
}

static void test_bad(void)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"<?xml version=\"1.0\"?>",
		"<Error><Code>AccessDenied</Code><Message>no</Message></Error>",
		"<ListBucketResult>",
		"<ListBucketResult></ListBucket>",
		"<ListBucketResult><Contents></ListBucketResult></Contents>",
		"<ListBucketResult></ListBucketResult><ListBucketResult></ListBucketResult>",
		"<ListBucketResult></ListBucketResult>trailing",
		HEAD "<Contents><Key>a&bogus;</Key><Size>1</Size></Contents></ListBucketResult>",
		HEAD "<Contents><Key>a&amp</Key><Size>1</Size></Contents></ListBucketResult>",
		HEAD "<Contents><Key>a&#0;</Key><Size>1</Size></Contents></ListBucketResult>",
		HEAD "<Contents><Key>a&#xD800;</Key><Size>1</Size></Contents></ListBucketResult>",
		HEAD "<Contents><Key>a&#x110000;</Key><Size>1</Size></Contents></ListBucketResult>",
		HEAD "<Contents><Key>a&#;</Key><Size>1</Size></Contents></ListBucketResult>",
		HEAD "<Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
		HEAD "<Contents><Key>a</Key><Size>99999999999999999999</Size></Contents></ListBucketResult>",
		HEAD "<Contents><Key>a</Key><Size></Size></Contents></ListBucketResult>",
		HEAD "<Contents><Key>a</Key></Contents></ListBucketResult>",	/* no size */
		HEAD "<Contents><Size>1</Size></Contents></ListBucketResult>",	/* no key */
		HEAD "<CommonPrefixes></CommonPrefixes></ListBucketResult>",
		HEAD "<Contents><Key>a</Key><Size>1</Size><LastModified>yesterday</LastModified>"
		     "</Contents></ListBucketResult>",
		HEAD "<Contents><Key>a</Key><Size>1</Size><LastModified>2024-13-01T00:00:00Z"
		     "</LastModified></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",	/* no token */
		"<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
		     FILE_("a%2") "</ListBucketResult>",
		"<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
		     FILE_("a%00b") "</ListBucketResult>",
		"<!DOCTYPE x [<!ENTITY e \"boom\">]><ListBucketResult></ListBucketResult>",
		"<ListBucketResult><!-- open comment </ListBucketResult>",
		"<ListBucketResult><![CDATA[ open </ListBucketResult>",
		"<ListBucketResult><a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p><q>"
		     "</q></p></o></n></m></l></k></j></i></h></g></f></e></d></c></b></a>"
		     "</ListBucketResult>",
		"<ListBucketResult",
		"<ListBucketResult a=\"></ListBucketResult>",
		"<>",
		"</ListBucketResult>",
	};
	struct s3_list_page pg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], "", &pg);

		if (rc != -EIO)
			printf("not -EIO (%d): %s\n", rc, bad[i]);
		CHECK(rc == -EIO);
		CHECK(pg.entries == NULL && pg.count == 0 && pg.next_token == NULL);
	}
	/* a NUL byte inside the body */
	static const char nul[] = HEAD "<Contents><Key>a\0b</Key><Size>1</Size></Contents>"
				  "</ListBucketResult>";
	CHECK(s3_list_parse(nul, sizeof(nul) - 1, "", &pg) == -EIO);
}

/* Every cut of a good body fails cleanly; so does every byte mangled. */
static void test_cut_and_mangled(void)
{
	size_t n = strlen(aws_page);
	char *buf = malloc(n + 1);
	struct s3_list_page pg;
	int cuts_ok = 1, mangled_ok = 1;

	for (size_t len = 0; len < n; len++) {
		/* the root element closes at the very end: no shorter cut is whole */
		int rc = s3_list_parse(aws_page, len, "data/set/", &pg);

		if (rc == 0)
			s3_list_page_free(&pg);
		if (rc != -EIO)
			cuts_ok = 0;
	}
	CHECK(cuts_ok);
	for (size_t i = 0; i < n; i++) {
		static const char junk[] = { '<', '>', '&', '/', '\0', 'x', ';', '"' };

		for (size_t j = 0; j < sizeof(junk); j++) {
			int rc;

			memcpy(buf, aws_page, n + 1);
			buf[i] = junk[j];
			rc = s3_list_parse(buf, n, "data/set/", &pg);
			if (rc == 0)
				s3_list_page_free(&pg);
			else if (rc != -EIO)
				mangled_ok = 0;
		}
	}
	CHECK(mangled_ok);
	free(buf);
}

int main(void)
{
	test_aws();
	test_rgw();
	test_s3rver();
	test_skips_and_found();
	test_syntax();
	test_bad();
	test_cut_and_mangled();
	return check_summary();
}
