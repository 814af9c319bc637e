// SPDX-License-Identifier: GPL-2.0
/*
 * vdifs-mds start-up: the JSON config and the flags.  A bad or unknown
 * setting must stop the server at start with a clear message (exit 2),
 * and a good config must be honoured, with flags overriding it.
 */
#include "harness.h"

static char tmpdir[] = "/tmp/vdifs-cfg.XXXXXX";

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	h_rm_rf(tmpdir);
}

static void write_file(const char *name, const char *text, char *path,
		       size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* run vdifs-mds with a config text and extra args; returns exit status */
static int run_mds(const char *config, const char *extra, char **err)
{
	char mds[PATH_MAX + 32], cfg[PATH_MAX];
	char *argv[8];
	int n = 0;

	snprintf(mds, sizeof(mds), "%s/vdifs-mds", h_bindir());
	argv[n++] = mds;
	if (config) {
		write_file("mds.json", config, cfg, sizeof(cfg));
		argv[n++] = "-c";
		argv[n++] = cfg;
	}
	if (extra)
		argv[n++] = (char *)extra;
	argv[n] = NULL;
	return h_run(argv, NULL, NULL, err);
}

static const struct {
	const char *config;
	const char *flag;
	const char *message;
} bad[] = {
	{ "{\"listen\": \"127.0.0.1:0\", \"colour\": \"blue\"}", NULL,
	  "unknown setting 'colour'" },
	{ "{\"listen\": 7400}", NULL, "listen has the wrong type" },
	{ "{\"lease_ms\": -5}", NULL, "lease_ms must not be negative" },
	{ "{\"lease_ms\": 10}", NULL, "lease_ms" },
	{ "{\"heartbeat_ms\": 5000, \"lease_ms\": 1000}", NULL,
	  "must be longer than the heartbeat" },
	{ "{\"key\": \"xyz\"}", NULL, "a key is 32 to 128 hex digits" },
	/* 15 bytes: too short for an HMAC-SHA256 key */
	{ "{\"key\": \"00112233445566778899aabbccddee\"}", NULL,
	  "a key is 32 to 128 hex digits" },
	/* a command line is there for every user to see: no --key (getopt
	 * takes it for --key-file) */
	{ NULL, "--key=00112233445566778899aabbccddeeff", "--key-file" },
	{ "{\"key_file\": \"/nonexistent/key\"}", NULL, "No such file" },
	/* keyless only on purpose, and not both */
	{ "{\"listen\": \"127.0.0.1:0\"}", NULL, "or --insecure" },
	{ "{\"key\": \"00112233445566778899aabbccddeeff\", \"insecure\": true}",
	  NULL, "exclude each other" },
	{ "{\"log_level\": \"loud\"}", NULL, "is not error, warning" },
	{ "{\"default_replicas\": 9}", NULL, "default_replicas" },
	{ "[1, 2]", NULL, "not a JSON object" },
	{ "{\"listen\": ", NULL, "mds.json" },
	{ NULL, "--lease-ms=abc", "is not a number" },
	{ NULL, "--no-such-flag", "usage" },
	{ NULL, "stray", "unexpected argument" },
};

START_TEST(bad_setting_refused)
{
	char *err = NULL;
	int st = run_mds(bad[_i].config, bad[_i].flag, &err);

	ck_assert_msg(st == 2, "case %d: exit %d, stderr: %s", _i, st, err);
	ck_assert_msg(strstr(err, bad[_i].message),
		      "case %d: no '%s' in: %s", _i, bad[_i].message, err);
	free(err);
}
END_TEST

/* a key file others can read is no secret: the server will not start */
START_TEST(key_file_mode)
{
	char path[PATH_MAX], flag[PATH_MAX + 16], *err = NULL;
	int st;

	write_file("key.hex", "00112233445566778899aabbccddeeff\n", path,
		   sizeof(path));
	ck_ok(chmod(path, 0644));
	snprintf(flag, sizeof(flag), "--key-file=%s", path);
	st = run_mds("{\"listen\": \"127.0.0.1:0\"}", flag, &err);
	ck_assert_msg(st == 2, "exit %d, stderr: %s", st, err);
	ck_assert_msg(strstr(err, "chmod 600"), "no 'chmod 600' in: %s", err);
	free(err);
}
END_TEST

START_TEST(missing_config_file)
{
	char mds[PATH_MAX + 32], *err = NULL;
	char *argv[] = { mds, "-c", "/nonexistent/mds.json", NULL };
	int st;

	snprintf(mds, sizeof(mds), "%s/vdifs-mds", h_bindir());
	st = h_run(argv, NULL, NULL, &err);
	ck_assert_int_eq(st, 2);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/mds.json"));
	free(err);
}
END_TEST

START_TEST(help_describes_program)
{
	char mds[PATH_MAX + 32], *out = NULL;
	char *argv[] = { mds, "--help", NULL };

	snprintf(mds, sizeof(mds), "%s/vdifs-mds", h_bindir());
	ck_assert_int_eq(h_run(argv, NULL, &out, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "metadata server"));
	ck_assert_ptr_nonnull(strstr(out, "--listen"));
	free(out);
}
END_TEST

/* a good config is used, and a flag overrides the file */
START_TEST(config_and_flag_override)
{
	char cfg[PATH_MAX], text[PATH_MAX * 2], mds[PATH_MAX + 32], pf[PATH_MAX];
	char dd[PATH_MAX], arg_pf[PATH_MAX + 16], *lease = "--lease-ms=900";
	struct vdc_conn *c = NULL;
	struct vdc_opts o = { .role = VDIFS_ROLE_DS, .insecure = true };
	struct stat st;
	char addr[64];
	pid_t pid;
	int port = -1, i, ret;

	snprintf(dd, sizeof(dd), "%s/state", tmpdir);
	snprintf(pf, sizeof(pf), "%s/port", tmpdir);
	snprintf(text, sizeof(text),
		 "{\"listen\": \"127.0.0.1:0\", \"data\": \"%s\", "
		 "\"heartbeat_ms\": 100, \"lease_ms\": 60000, "
		 "\"log_level\": \"warning\", \"insecure\": true}", dd);
	write_file("good.json", text, cfg, sizeof(cfg));
	snprintf(mds, sizeof(mds), "%s/vdifs-mds", h_bindir());
	snprintf(arg_pf, sizeof(arg_pf), "--port-file=%s", pf);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(mds, mds, "-c", cfg, lease, arg_pf, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && port < 0; i++) {
		h_sleep_ms(100);
		port = h_read_port(pf);
	}
	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(stat(dd, &st), 0);	/* the data dir from the file */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ret = vdc_connect(addr, &o, &c);
	ck_assert_int_eq(ret, 0);
	{
		struct vdifs_ds_register_rep rep;

		/* the lease the server tells is the flag's, not the file's */
		ck_assert_int_eq(vdc_ds_register(c, 0, "127.0.0.1:9", 1 << 30,
						 0, &rep), 0);
		ck_assert_uint_eq(rep.lease_ms, 900);
		ck_assert_uint_eq(rep.heartbeat_ms, 100);
	}
	vdc_close(c);
	kill(pid, SIGTERM);
	ck_assert(h_wait_pid(pid, 5000, &i));
	ck_assert(WIFEXITED(i) && WEXITSTATUS(i) == 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mds-config");
	TCase *tc = tcase_create("config");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, bad_setting_refused, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, missing_config_file);
	tcase_add_test(tc, key_file_mode);
	tcase_add_test(tc, help_describes_program);
	tcase_add_test(tc, config_and_flag_override);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
