"""The people list: every person of the catalog with their teams and the projects they own, searchable."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(catalog):
    team = catalog.team("ml-platform")
    ada = catalog.person("ada", title="Ada Lovelace", email="ada@example.com", teams=[team])
    ada.git_emails = ["1234+ada@users.noreply.github.com"]
    ada.save()
    catalog.project("ranker", owner=ada)
    catalog.person("bo", title="Bo Chen")
    return team


def test_lists_people_with_their_counts(client, outsider, people):
    client.force_login(outsider)
    page = client.get(reverse("person-list")).content.decode()
    table = page.split('id="person-table"')[1].split("</table>")[0]
    assert 'href="/people/default/ada/"' in table and "Ada Lovelace" in table and ">bo<" in table
    ada_row = table.split('href="/people/default/ada/"')[1].split("</tr>")[0]
    assert ada_row.count('<td class="num">1</td>') == 2  # one team, one project owned


def test_searches_git_emails_too(client, outsider, people):
    client.force_login(outsider)
    page = client.get(reverse("person-list"), {"q": "1234+ada@users"}).content.decode()
    table = page.split('id="person-table"')[1].split("</table>")[0]
    assert "Ada Lovelace" in table and "Bo Chen" not in table


def test_query_count_does_not_grow_with_people(
    client, outsider, people, catalog, django_assert_max_num_queries
):
    client.force_login(outsider)
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("person-list"))
    for i in range(30):
        catalog.person(f"p{i}", teams=[people])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("person-list")).status_code == 200
