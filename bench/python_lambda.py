"""The Python baseline as a real Python Lambda function, for the Lambda-path
bench (`cargo bench -p msk-consumer --bench lambda_path`): run by
`awslambdaric` (PyPI, AWS's runtime interface client, which parses the whole
event before calling the handler, as Lambda's Python runtime does) against
the bench's loopback Runtime API:

    AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT DEAD_LETTER_DIR=DIR \
        python -m awslambdaric python_lambda.handler      # cwd: bench/

It does msk-consumer's work on each batch: decode, validate, aggregate
(`python_decode.process_event`), write each partition's poison records as one
JSON-lines file under DEAD_LETTER_DIR (msk-consumer's object names), and
return the summary, which the bench compares with the Rust one field by field."""

import json
import os
import time

from python_decode import process_event

DEAD_LETTER_DIR = os.environ["DEAD_LETTER_DIR"]


def handler(event, context):
    now_ms = int(time.time() * 1000)
    letters = {}
    summary = process_event(event, now_ms, letters)
    written = []
    for key, batch in sorted(letters.items()):
        first, last = batch[0]["offset"], batch[-1]["offset"]
        path = os.path.join(DEAD_LETTER_DIR, key, f"{first:020}-{last:020}.jsonl")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        now = int(time.time() * 1000)
        with open(path + ".partial", "w") as f:
            for letter in batch:
                letter.update(quarantinedAt=now, requestId=context.aws_request_id)
                f.write(json.dumps(letter, separators=(",", ":")))
                f.write("\n")
        os.replace(path + ".partial", path)
        written.append(path)
    summary["deadLetters"] = written
    print(json.dumps({"level": "INFO", "message": "batch processed", "records": summary["records"],
                      "rides": summary["rides"], "poison": summary["poison"]}))
    return summary
