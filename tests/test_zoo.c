/* test_zoo.c -- the zoo manifest reader: entries, defaults, and errors that
 * name the line and column. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

static int parse(const char *text, zoo_manifest *m, char *err)
{
    return zoo_manifest_parse(text, strlen(text), "zoo.yaml", m, err, 512);
}

static void test_valid(void)
{
    const char *text =
        "defaults:\n  opset: 11\n  rtol: 2.0e-3\n"
        "models:\n"
        "  - name: resnet50\n    family: ResNet\n    source: torchvision:resnet50\n"
        "    input: [1, 3, 224, 224]\n    params: 25557032\n    params_tolerance: 0.002\n"
        "  - name: darknet19\n    family: Darknet\n    source: file:darknet19.py:Darknet19\n"
        "    input: [1, 3, 256, 256]\n    opset: 13\n    constant_folding: false\n    params: 20842376\n"
        "    options: {alpha: 0.75, dynamic_batch: 3}\n";
    zoo_manifest m;
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(parse(text, &m, err), 0);
    CU_ASSERT_EQUAL(m.n, 2);
    const zoo_entry *r = zoo_manifest_find(&m, "resnet50"), *d = zoo_manifest_find(&m, "darknet19");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(r->opset, 11);            /* from defaults */
    CU_ASSERT_DOUBLE_EQUAL(r->rtol, 2e-3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r->atol, 1e-4, 1e-12); /* built-in default */
    CU_ASSERT_EQUAL(r->rank, 4);
    CU_ASSERT_EQUAL(r->input[3], 224);
    CU_ASSERT_EQUAL(r->params, 25557032);
    CU_ASSERT_TRUE(r->constant_folding);
    CU_ASSERT_EQUAL(d->opset, 13);
    CU_ASSERT_FALSE(d->constant_folding);
    CU_ASSERT_STRING_EQUAL(d->source, "file:darknet19.py:Darknet19");
    CU_ASSERT_EQUAL(d->line, 11);
    CU_ASSERT_STRING_EQUAL(d->options, "alpha=0.75 dynamic_batch=3");
    CU_ASSERT_STRING_EQUAL(r->options, "");
    zoo_manifest_free(&m);
}

static void expect_error(const char *text, const char *where, const char *what)
{
    zoo_manifest m;
    char err[512] = "";
    CU_ASSERT_EQUAL(parse(text, &m, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, where));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, what));
    CU_ASSERT_EQUAL(m.n, 0);
}

static void test_errors(void)
{
    expect_error("models:\n  - name: a\n   family: [\n", "zoo.yaml:3:", "");
    expect_error("models:\n  - name: a\n    family: A\n    source: torchvision:x\n    input: [1, 3, -2]\n    params: 3\n",
                 "zoo.yaml:5:19", "input dims");
    expect_error("models:\n  - name: a\n    family: A\n    source: torchvision:x\n    input: [1]\n    params: many\n",
                 "zoo.yaml:6:13", "'params' must be an integer");
    expect_error("models:\n  - name: a\n    family: A\n    input: [1]\n    params: 3\n", "zoo.yaml:2:5", "missing 'source'");
    expect_error("models:\n  - name: a\n    family: A\n    source: http://x\n    input: [1]\n    params: 3\n",
                 "zoo.yaml:4:13", "must start with");
    expect_error("models:\n  - {name: a, family: A, source: 'file:a.py:A', input: [1], params: 3}\n"
                 "  - {name: a, family: A, source: 'file:a.py:A', input: [1], params: 3}\n", "zoo.yaml:3:5", "twice");
    expect_error("defaults: {opset: 11}\n", "zoo.yaml:1:1", "'models'");
    expect_error("models:\n  - name: Bad-Name\n    family: A\n", "zoo.yaml:2:11", "a-z");
    const char *entry = "models:\n  - name: a\n    family: A\n    source: torchvision:x\n    input: [1]\n    params: 3\n";
    char text[512];
    snprintf(text, sizeof text, "%s    constant_foldin: false\n", entry);
    expect_error(text, "zoo.yaml:7:5", "unknown key 'constant_foldin'");
    snprintf(text, sizeof text, "%s    options: [alpha, 0.5]\n", entry);
    expect_error(text, "zoo.yaml:7:14", "'options' must be a mapping");
    snprintf(text, sizeof text, "%s    options: {alpha: [0.5]}\n", entry);
    expect_error(text, "zoo.yaml:7:22", "single values");
    expect_error("defaults: {opset: 11, rtoll: 1}\nmodels: []\n", "zoo.yaml:1:23", "defaults: unknown key 'rtoll'");
    expect_error("model:\n  - name: a\n", "zoo.yaml:1:1", "unknown key 'model'");
}

/* The zoo itself: it parses, and every backbone of keel's mission is in it. */
static void test_the_zoo(void)
{
    const char *src = getenv("KEEL_SRCDIR") ? getenv("KEEL_SRCDIR") : ".";
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/backbone_zoo/zoo.yaml", src);
    zoo_manifest m;
    CU_ASSERT_EQUAL_FATAL(zoo_manifest_load(path, &m, err, sizeof err), 0);
    static const char *const mission[] = {
        "vgg16", "vgg19", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "googlenet",
        "darknet19", "mobilenet_v1", "mobilenet_v2", "squeezenet1_0", "squeezenet1_1", "efficientnet_b0",
        "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
        "efficientnet_b6", "efficientnet_b7", "shufflenet_v1_g3", "shufflenet_v2_x1_0", "inception_resnet_v2",
        "inception_v3", "tf_mobilenet_v2", "tf_resnet50", "tf_efficientnet_b0"};
    for (size_t i = 0; i < sizeof mission / sizeof mission[0]; i++) {
        const zoo_entry *e = zoo_manifest_find(&m, mission[i]);
        CU_ASSERT_PTR_NOT_NULL(e);
        if (!e)
            fprintf(stderr, "\n  zoo.yaml lacks %s\n", mission[i]);
    }
    int kept_bn = 0;
    for (int i = 0; i < m.n; i++)
        kept_bn += !m.entries[i].constant_folding;
    CU_ASSERT(2 * kept_bn >= m.n); /* half the entries keep BatchNormalization */
    zoo_manifest_free(&m);
}

void add_zoo_suite(void)
{
    CU_pSuite s = CU_add_suite("zoo manifest", NULL, NULL);
    CU_add_test(s, "valid manifest", test_valid);
    CU_add_test(s, "errors name line and column", test_errors);
    CU_add_test(s, "the zoo has every backbone of the mission", test_the_zoo);
}
