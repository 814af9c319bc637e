// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: mount source parsing.
 */
#include <kunit/test.h>
#include <linux/in.h>
#include <linux/in6.h>
#include "internal.h"

static void options_test_ipv4(struct kunit *test)
{
	struct vdifs_mount_opts o;
	struct sockaddr_in *sin = (struct sockaddr_in *)&o.mds;
	const char *why;

	vdifs_mount_opts_init(&o);
	KUNIT_ASSERT_EQ(test, vdifs_parse_source("127.0.0.1:7401/vms", &o, &why),
			0);
	KUNIT_EXPECT_EQ(test, sin->sin_family, AF_INET);
	KUNIT_EXPECT_EQ(test, ntohs(sin->sin_port), 7401);
	KUNIT_EXPECT_EQ(test, ntohl(sin->sin_addr.s_addr), 0x7f000001u);
	KUNIT_EXPECT_STREQ(test, o.volume, "vms");
	KUNIT_EXPECT_NULL(test, why);
}

static void options_test_default_port(struct kunit *test)
{
	struct vdifs_mount_opts o;
	struct sockaddr_in *sin = (struct sockaddr_in *)&o.mds;
	const char *why;

	vdifs_mount_opts_init(&o);
	KUNIT_ASSERT_EQ(test, vdifs_parse_source("10.1.2.3/base", &o, &why), 0);
	KUNIT_EXPECT_EQ(test, ntohs(sin->sin_port), VDIFS_DEFAULT_PORT);
}

static void options_test_ipv6(struct kunit *test)
{
	struct vdifs_mount_opts o;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&o.mds;
	const char *why;

	vdifs_mount_opts_init(&o);
	KUNIT_ASSERT_EQ(test, vdifs_parse_source("[::1]:9000/v", &o, &why), 0);
	KUNIT_EXPECT_EQ(test, sin6->sin6_family, AF_INET6);
	KUNIT_EXPECT_EQ(test, ntohs(sin6->sin6_port), 9000);
	KUNIT_EXPECT_EQ(test, sin6->sin6_addr.s6_addr[15], 1);
	KUNIT_ASSERT_EQ(test, vdifs_parse_source("[::1]/v", &o, &why), 0);
	KUNIT_EXPECT_EQ(test, ntohs(sin6->sin6_port), VDIFS_DEFAULT_PORT);
}

static void options_test_bad(struct kunit *test)
{
	static const char * const bad[] = {
		"", "127.0.0.1", "127.0.0.1:7400", "127.0.0.1:7400/",
		"127.0.0.1:0/v", "127.0.0.1:65536/v", "127.0.0.1:x/v",
		"127.0.0.1:/v", "host.example:7400/v", "1.2.3/v",
		"[::1/v", "[::1]x/v", "[]:1/v", "127.0.0.1:7400/a b",
		"127.0.0.1:7400/.v", "127.0.0.1:7400/a/b",
		"127.0.0.1:7400/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct vdifs_mount_opts o;
	const char *why;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		vdifs_mount_opts_init(&o);
		why = NULL;
		KUNIT_EXPECT_EQ_MSG(test, vdifs_parse_source(bad[i], &o, &why),
				    -EINVAL, "source '%s'", bad[i]);
		KUNIT_EXPECT_NOT_NULL_MSG(test, why, "source '%s'", bad[i]);
	}
}

static struct kunit_case options_test_cases[] = {
	KUNIT_CASE(options_test_ipv4),
	KUNIT_CASE(options_test_default_port),
	KUNIT_CASE(options_test_ipv6),
	KUNIT_CASE(options_test_bad),
	{}
};

static struct kunit_suite options_test_suite = {
	.name = "vdifs_options",
	.test_cases = options_test_cases,
};
kunit_test_suite(options_test_suite);
