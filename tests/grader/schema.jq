# schema.jq: checks a grader JSON report against grader/results.schema.json.
#
#   jq -r -f tests/grader/schema.jq report.json
#
# prints one line per rule broken, nothing for a valid report. The rules are
# those of the schema file, spelled out, since jq has no JSON Schema support.

def is_text_or_null: type == "string" or type == "null";
def is_count: type == "number" and . >= 0;

# keys_exactly(KEYS): the object has these keys and no others.
def keys_exactly($wanted; $where):
  ((keys - $wanted) | map("\($where): unexpected key \(.)")[]),
  (($wanted - keys) | map("\($where): missing key \(.)")[]);

def check_test($index):
  "tests[\($index)]" as $where
  | if type != "object" then "\($where) is not an object" else
      keys_exactly(["name", "status", "score", "max_score", "message",
                    "expected", "actual", "diff", "output",
                    "output_truncated", "hint", "replay", "test_code",
                    "duration"]; $where),
      (if (.name | type) != "string" or .name == "" then "\($where).name is not a non-empty string" else empty end),
      (if (.status | IN("pass", "fail", "error", "skip")) | not then "\($where).status is \(.status)" else empty end),
      (if (.score | is_count) | not then "\($where).score is not a number >= 0" else empty end),
      (if (.max_score | is_count) | not then "\($where).max_score is not a number >= 0" else empty end),
      (if (.duration | is_count) | not then "\($where).duration is not a number >= 0" else empty end),
      (if (.output_truncated | type) != "boolean" then "\($where).output_truncated is not a boolean" else empty end),
      (.message, .expected, .actual, .diff, .output, .hint, .replay, .test_code
       | select(is_text_or_null | not) | "\($where): a text field is a \(type)"),
      (if .status == "pass" and .score != .max_score then "\($where) passed without full marks" else empty end),
      (if .status != "pass" and .score != 0 then "\($where) did not pass but scored" else empty end)
    end;

if type != "object" then "the report is not an object" else
  keys_exactly(["schema", "version", "exercise", "submission", "status",
                "message", "score", "max_score", "execution_time", "network",
                "build", "tests"]; "report"),
  (if .schema != "async-kit-grader-results/1" then "schema is \(.schema)" else empty end),
  (if .version != 3 then "version is \(.version)" else empty end),
  (if (.exercise | type) != "string" then "exercise is not a string" else empty end),
  (if (.submission | type) != "string" then "submission is not a string" else empty end),
  (if (.status | IN("pass", "fail", "error")) | not then "status is \(.status)" else empty end),
  (if (.message | is_text_or_null) | not then "message is not a string or null" else empty end),
  (if (.score | is_count) | not then "score is not a number >= 0" else empty end),
  (if (.max_score | is_count) | not then "max_score is not a number >= 0" else empty end),
  (if (.execution_time | is_count) | not then "execution_time is not a number >= 0" else empty end),
  (if (.network | IN("private", "shared")) | not then "network is \(.network)" else empty end),
  (if (.build | type) != "object" then "build is not an object" else
     (.build | keys_exactly(["status", "output"]; "build")),
     (if (.build.status | IN("ok", "error")) | not then "build.status is \(.build.status)" else empty end),
     (if (.build.output | type) != "string" then "build.output is not a string" else empty end)
   end),
  (if (.tests | type) != "array" then "tests is not an array" else
     (.tests | to_entries[] | .key as $index | .value | check_test($index)),
     (if ([.tests[].score] | add // 0) != .score then "score is not the sum of the tests' scores" else empty end),
     (if ([.tests[].max_score] | add // 0) != .max_score then "max_score is not the sum of the tests' max_scores" else empty end)
   end)
end
