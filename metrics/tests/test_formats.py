"""Influx line protocol, Prometheus/OpenMetrics text and OTLP metrics stored through the one ingest path."""

import gzip
import json

import pytest
from django.contrib.auth.models import Permission
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from metrics.models import Sample, Series
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db

INFLUX_URL = "/api/v2/write"
INGEST_URL = "/api/v1/metrics/ingest/"
OTLP_URL = "/api/v1/metrics/otlp/v1/metrics"

# The home sensor data of "Get started writing data",
# https://docs.influxdata.com/influxdb/v2/get-started/write/ (second precision).
INFLUX_HOME = """\
home,room=Living\\ Room temp=21.1,hum=35.9,co=0i 1641024000
home,room=Kitchen temp=21.0,hum=35.9,co=0i 1641024000
home,room=Living\\ Room temp=21.4,hum=35.9,co=0i 1641027600
home,room=Kitchen temp=23.0,hum=36.2,co=0i 1641027600
"""

# The text format example of https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-example
PROMETHEUS_EXAMPLE = """\
# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="0.2"} 100392
http_request_duration_seconds_bucket{le="0.5"} 129389
http_request_duration_seconds_bucket{le="1"} 133988
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.05"} 3272
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.9"} 9001
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
"""

# The OpenMetrics example of https://github.com/prometheus/OpenMetrics/blob/main/specification/OpenMetrics.md
# ("Counter" and "Gauge" sections, with the required # EOF).
OPENMETRICS_EXAMPLE = """\
# TYPE foo counter
foo_total 17.0 1520879607.789
foo_created 1520430000.123 1520879607.789
# TYPE bar gauge
bar 3.5
# EOF
"""

# examples/metrics.json of https://github.com/open-telemetry/opentelemetry-proto (OTLP JSON encoding).
OTLP_EXAMPLE = {
    "resourceMetrics": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
            "scopeMetrics": [
                {
                    "scope": {
                        "name": "my.library",
                        "version": "1.0.0",
                        "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}],
                    },
                    "metrics": [
                        {
                            "name": "my.counter",
                            "unit": "1",
                            "description": "I`m a Counter",
                            "sum": {
                                "aggregationTemporality": 1,
                                "isMonotonic": True,
                                "dataPoints": [
                                    {
                                        "asDouble": 5,
                                        "startTimeUnixNano": 1544712660300000000,
                                        "timeUnixNano": 1544712660300000000,
                                        "attributes": [
                                            {"key": "my.counter.attr", "value": {"stringValue": "some value"}}
                                        ],
                                    }
                                ],
                            },
                        },
                        {
                            "name": "my.gauge",
                            "unit": "1",
                            "description": "I`m a Gauge",
                            "gauge": {
                                "dataPoints": [
                                    {
                                        "asDouble": 10,
                                        "timeUnixNano": 1544712660300000000,
                                        "attributes": [
                                            {"key": "my.gauge.attr", "value": {"stringValue": "some value"}}
                                        ],
                                    }
                                ]
                            },
                        },
                        {
                            "name": "my.histogram",
                            "unit": "1",
                            "description": "I`m a Histogram",
                            "histogram": {
                                "aggregationTemporality": 1,
                                "dataPoints": [
                                    {
                                        "startTimeUnixNano": 1544712660300000000,
                                        "timeUnixNano": 1544712660300000000,
                                        "count": 3,
                                        "sum": 3,
                                        "bucketCounts": [1, 1, 1],
                                        "explicitBounds": [1],
                                        "min": 1,
                                        "max": 1,
                                        "attributes": [
                                            {"key": "my.histogram.attr", "value": {"stringValue": "some value"}}
                                        ],
                                    }
                                ],
                            },
                        },
                    ],
                }
            ],
        }
    ]
}


def auth(key):
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def write(client, key, body, precision="s", **headers):
    url = f"{INFLUX_URL}?org=ops&bucket=telegraf&precision={precision}"
    return client.post(url, body, content_type="text/plain; charset=utf-8", **auth(key), **headers)


def values(name, **tags):
    series = Series.objects.get(name=name, tags=tags)
    return sorted(Sample.objects.filter(series_id=series.pk).values_list("ts", "value"))


# Influx line protocol


def test_line_protocol_fields_are_stored_as_measurement_field_points_with_204(client, staff_token):
    response = write(client, staff_token, INFLUX_HOME)
    assert response.status_code == 204 and response.content == b""
    assert Sample.objects.count() == 12
    living = values("home_temp", room="Living Room")
    assert [value for _, value in living] == [21.1, 21.4]
    assert living[0][0].isoformat() == "2022-01-01T08:00:00+00:00"
    assert values("home_co", room="Kitchen")[0][1] == 0.0
    query = "/api/v1/metrics/query/?name=home_temp&tag=room:Kitchen&start=1641020000&end=1641030000&step=3600&agg=max"
    series = client.get(query, **auth(staff_token)).json()["series"]
    assert [value for _, value in series[0]["points"]] == [21.0, 23.0]


def test_telegraf_gzip_body_with_nanoseconds_escapes_booleans_and_a_skipped_string(client, staff_token):
    body = (
        "cpu,cpu=cpu-total,host=web\\ 1 usage_idle=97.5,usage_user=1.25 1700000000000000000\n"
        'system,host=web\\ 1 load1=0.5,n_cpus=4i,uptime_format="12 days,  3:04" 1700000000000000000\n'
        "net,host=web\\ 1,interface=eth0 up=true,bytes_recv=123456u 1700000000000000000\n"
    )
    response = write(client, staff_token, gzip.compress(body.encode()), precision="ns", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 204
    assert values("cpu_usage_user", cpu="cpu-total", host="web 1") == [
        (values("cpu_usage_idle", cpu="cpu-total", host="web 1")[0][0], 1.25)
    ]
    assert values("system_n_cpus", host="web 1")[0][1] == 4.0
    assert values("net_up", host="web 1", interface="eth0")[0][1] == 1.0
    assert not Series.objects.filter(name="system_uptime_format").exists()
    assert Sample.objects.count() == 6


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("home,room=Kitchen", "separated by single spaces"),
        ("home,room=Kitchen temp=hot 1641024000", "not a float"),
        ("home,room=Kitchen temp=1x 1641024000", "not a float"),
        ("home,room=Kitchen temp=21 yesterday", "timestamp"),
        ("home,room temp=21 1641024000", "not key=value"),
        ("home,room=a\\,b temp=21 1641024000", "tag values"),
        ("9home temp=21 1641024000", "point name"),
        ("home temp=21 99999999999", "more than an hour ahead"),
        ('home temp="unterminated 1641024000', "closing quote"),
    ],
)
def test_a_bad_line_fails_the_whole_write_naming_its_line(client, staff_token, line, words):
    response = write(client, staff_token, INFLUX_HOME + line + "\n")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["line"] == 5
    assert body["message"].startswith("line 5:") and words in body["message"]
    assert not Sample.objects.exists()


def test_an_unknown_precision_is_refused(client, staff_token):
    response = write(client, staff_token, INFLUX_HOME, precision="h")
    assert response.status_code == 400 and "precision" in response.json()["message"]


def test_influx_write_needs_a_token_whose_user_may_add_samples(client):
    assert client.post(INFLUX_URL, INFLUX_HOME, content_type="text/plain").status_code == 401
    user = make_user(staff=False)
    _token, key = make_token(user)
    assert write(client, key, INFLUX_HOME).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="add_series"))
    assert write(client, key, INFLUX_HOME).status_code == 204


def test_more_points_than_one_request_holds_are_refused_whole(client, staff_token):
    lines = "".join(f"m,i={i} a=1,b=2 1641024000\n" for i in range(5_001))
    response = write(client, staff_token, lines)
    assert response.status_code == 400 and "10000 points" in response.json()["message"]
    assert not Sample.objects.exists()


# Prometheus and OpenMetrics text


def test_the_prometheus_documentation_example_is_stored_sample_by_sample(client, staff_token):
    response = client.post(
        INGEST_URL, PROMETHEUS_EXAMPLE, content_type="text/plain; version=0.0.4", **auth(staff_token)
    )
    assert response.status_code == 202
    assert response.json() == {"accepted": 19, "skipped": 1}  # +Inf cannot be stored
    assert values("http_requests_total", method="post", code="200")[0][0].isoformat() == "2014-03-17T14:26:03+00:00"
    assert values("http_request_duration_seconds_bucket", le="+Inf")[0][1] == 144320
    assert values("rpc_duration_seconds", quantile="0.99")[0][1] == 76656
    assert Series.objects.get(name="msdos_file_access_time_seconds").tags["error"] == 'Cannot find file:\n"FILE.TXT"'
    assert not Series.objects.filter(name="something_weird").exists()


def test_openmetrics_text_is_accepted(client, staff_token):
    response = client.post(
        INGEST_URL,
        OPENMETRICS_EXAMPLE,
        content_type="application/openmetrics-text; version=1.0.0; charset=utf-8",
        **auth(staff_token),
    )
    assert response.status_code == 202 and response.json()["accepted"] == 2
    assert values("foo_total")[0][1] == 17.0 and values("bar")[0][1] == 3.5
    assert not Series.objects.filter(name="foo_created").exists()  # a start time, not a measurement


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("good 1\nbad{ 2\n", "line 2"),
        ("good 1\nbad one\n", "line 2"),
        ('good 1\nbad{9x="a"} 1\n', "line 2"),
        ("good 1\nfuture 1 99999999999000\n", "sample future"),
        ('good 1\nbad{a="x,y"} 1\n', 'sample bad{a="x,y"}'),
    ],
)
def test_malformed_exposition_is_refused_naming_the_line_or_sample(client, staff_token, text, item):
    response = client.post(INGEST_URL, text, content_type="text/plain; version=0.0.4", **auth(staff_token))
    assert response.status_code == 400
    assert response.json()["errors"][0]["item"] == item
    assert not Sample.objects.exists()


def test_openmetrics_without_eof_is_refused(client, staff_token):
    response = client.post(
        INGEST_URL, "bar 1\n", content_type="application/openmetrics-text; version=1.0.0", **auth(staff_token)
    )
    assert response.status_code == 400 and "EOF" in response.json()["detail"]
    assert not Sample.objects.exists()


# OTLP


def otlp_protobuf():
    return json_format.ParseDict(OTLP_EXAMPLE, ExportMetricsServiceRequest()).SerializeToString()


def test_otlp_protobuf_gauges_and_sums_are_stored_and_histograms_reported_rejected(client, staff_token):
    response = client.post(OTLP_URL, otlp_protobuf(), content_type="application/x-protobuf", **auth(staff_token))
    assert response.status_code == 200 and response["Content-Type"] == "application/x-protobuf"
    answer = ExportMetricsServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_data_points == 1
    assert "histogram" in answer.partial_success.error_message
    counter = values("my.counter", **{"service.name": "my.service", "my.counter.attr": "some value", "unit": "1"})
    assert counter[0][1] == 5 and counter[0][0].isoformat() == "2018-12-13T14:51:00.300000+00:00"
    assert values("my.gauge", **{"service.name": "my.service", "my.gauge.attr": "some value", "unit": "1"})[0][1] == 10
    assert Sample.objects.count() == 2
    assert set(Series.objects.values_list("unit", flat=True)) == {"1"}, "the metric's unit is stored on its series"


def test_otlp_json_is_answered_in_json(client, staff_token):
    body = json.loads(json.dumps(OTLP_EXAMPLE))
    del body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][2]  # the histogram
    response = client.post(OTLP_URL, json.dumps(body), content_type="application/json", **auth(staff_token))
    assert response.status_code == 200 and response.json() == {}  # full success: no partialSuccess
    assert Sample.objects.count() == 2


def test_an_otlp_point_the_store_refuses_fails_the_request_naming_it(client, staff_token):
    body = json.loads(json.dumps(OTLP_EXAMPLE))
    point = body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][1]["gauge"]["dataPoints"][0]
    point["attributes"].append({"key": "9bad key", "value": {"stringValue": "x"}})
    response = client.post(OTLP_URL, json.dumps(body), content_type="application/json", **auth(staff_token))
    assert response.status_code == 400
    assert response.json()["code"] == 3
    assert "resourceMetrics[0].scopeMetrics[0].metrics[1] (my.gauge).dataPoints[0]" in response.json()["message"]
    assert not Sample.objects.exists()


def test_a_body_that_is_not_otlp_is_refused_in_its_encoding(client, staff_token):
    response = client.post(OTLP_URL, b"\xff\xff\xff", content_type="application/x-protobuf", **auth(staff_token))
    assert response.status_code == 400 and response["Content-Type"] == "application/x-protobuf"
    assert b"protobuf" in response.content
    response = client.post(OTLP_URL, '{"resourceMetrics": 5}', content_type="application/json", **auth(staff_token))
    assert response.status_code == 400 and response.json()["code"] == 3


def test_otlp_needs_a_token(client):
    response = client.post(OTLP_URL, otlp_protobuf(), content_type="application/x-protobuf")
    assert response.status_code == 401 and response["Content-Type"] == "application/x-protobuf"


def test_empty_bodies_store_nothing_and_succeed(client, staff_token):
    # Django's test client drops the content type of an empty body; clients send it.
    assert write(client, staff_token, "", CONTENT_TYPE="text/plain").status_code == 204
    protobuf = "application/x-protobuf"
    response = client.post(OTLP_URL, b"", content_type=protobuf, CONTENT_TYPE=protobuf, **auth(staff_token))
    assert response.status_code == 200
    assert not Sample.objects.exists()


def test_otlp_gzip_as_the_collector_sends_it_by_default(client, staff_token):
    body = gzip.compress(otlp_protobuf())
    response = client.post(
        OTLP_URL, body, content_type="application/x-protobuf", HTTP_CONTENT_ENCODING="gzip", **auth(staff_token)
    )
    assert response.status_code == 200 and Sample.objects.count() == 2
