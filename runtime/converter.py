"""One data converter for every Temporal client and worker: pydantic models travel as JSON and
come back validated."""

from temporalio.contrib.pydantic import pydantic_data_converter

DATA_CONVERTER = pydantic_data_converter
