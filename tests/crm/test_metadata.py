"""The metadata package an admin deploys holds every custom field the sync writes, as the emulator's org has it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from server.cli import app as cli
from server.crm.emulator.schema import SCHEMA
from server.crm.mapping import load_mapping

NS = {"m": "http://soap.sforce.com/2006/04/metadata"}


def test_the_package_has_every_custom_field_the_mapping_writes_with_the_emulators_lengths(tmp_path: Path):
    result = CliRunner().invoke(cli, ["crm", "metadata", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    deployed: dict[str, dict[str, ET.Element]] = {}
    for path in (tmp_path / "objects").glob("*.object"):
        root = ET.parse(path).getroot()
        deployed[path.stem] = {f.findtext("m:fullName", namespaces=NS) or "": f for f in root.findall("m:fields", NS)}
    needed = load_mapping().required_fields()
    for sobject, fields in needed.items():
        where = "Activity" if sobject == "Task" else sobject
        for name in (f for f in fields if f.endswith("__c")):
            field = deployed[where][name]  # KeyError: a field the sync writes that the admin is never given
            spec = SCHEMA[sobject].fields[name]
            if spec.type == "double":
                assert field.findtext("m:precision", namespaces=NS) == str(spec.precision)
            else:
                assert field.findtext("m:length", namespaces=NS) == str(spec.length), f"{sobject}.{name}"
            assert (field.findtext("m:externalId", namespaces=NS) == "true") == spec.external_id
    members = {m.text for m in ET.parse(tmp_path / "package.xml").getroot().iter(f"{{{NS['m']}}}members")}
    assert "Lead.Touchpoints_Id__c" in members and "Activity.Touchpoints_Id__c" in members
    rights = ET.parse(tmp_path / "permissionsets" / "Touchpoints_Sync.permissionset").getroot()
    editable = {p.findtext("m:field", namespaces=NS) for p in rights.findall("m:fieldPermissions", NS)}
    assert "Lead.Touchpoints_Grade__c" in editable and "Opportunity.Touchpoints_Id__c" in editable


def test_docs_show_the_package_the_command_writes():
    from server.crm.metadata import OBJECTS, object_xml, package_xml, permission_set_xml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "salesforce.md").read_text()
    for text in (package_xml(), permission_set_xml(), *(object_xml(f) for f in OBJECTS.values())):
        assert text in doc  # regenerate the section at the end of docs/salesforce.md when metadata.py changes
