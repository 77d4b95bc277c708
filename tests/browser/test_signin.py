"""Signing in to the console: the development roster page, and the authorization-code flow
with PKCE against a real identity provider on loopback; the session cookie's flags; forms
without the CSRF token refused."""

from tests.browser.conftest import Site, shoot


async def test_development_sign_in_lists_the_roster_and_starts_a_secure_session(
        site: Site) -> None:
    page = await site.person()
    await page.goto("/console/work")
    assert page.url.endswith("/console/signin")  # no session: sent to sign in
    options = await page.locator("#person_id option").all_inner_texts()
    assert any("wang.fang" in option for option in options)
    assert any("han.mei" in option for option in options)
    await shoot(page, "signin")
    await page.select_option("#person_id", "wang.fang")
    await page.get_by_role("button", name="登录", exact=True).click()
    await page.wait_for_url("**/console/work")
    assert await page.locator("h1").inner_text() == "我的工作"
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies["caseflow_session"]
    assert session["httpOnly"]
    assert session["secure"]
    assert session["sameSite"] == "Lax"
    await page.get_by_role("button", name="退出").click()
    await page.wait_for_url("**/console/signin")
    assert "caseflow_session" not in {c["name"] for c in await page.context.cookies()}


async def test_a_form_post_without_the_csrf_token_is_refused(site: Site) -> None:
    page = await site.person()
    await page.goto("/console/signin")
    forged = await page.request.post("/console/signin/dev",
                                     form={"person_id": "wang.fang", "csrf": "forged"})
    assert forged.status == 403
    assert "caseflow_session" not in {c["name"] for c in await page.context.cookies()}
    signed_in = await site.person("wang.fang")
    refused = await signed_in.request.post("/console/new", form={"subject": "x"})
    assert refused.status == 403
    assert "表单已过期" in await refused.text()


async def test_sign_in_with_the_identity_provider_uses_pkce(site: Site) -> None:
    page = await site.person()
    await page.goto("/console/signin")
    await page.get_by_role("link", name="使用公司账号登录").click()
    await page.wait_for_url(f"{site.idp.url}/authorize**")
    await page.fill("#u", "lin.xiaoyan")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/console/work")
    assert site.idp.exchanged == ["lin.xiaoyan"]
    assert "lin.xiaoyan" in await page.locator(".me").inner_text()


async def test_the_identity_provider_naming_nobody_on_the_roster_is_refused(
        site: Site) -> None:
    page = await site.person()
    await page.goto("/console/signin")
    await page.get_by_role("link", name="使用公司账号登录").click()
    await page.fill("#u", "mallory")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/console/signin/callback**")
    assert "登录失败" in await page.locator(".error").inner_text()
    assert "caseflow_session" not in {c["name"] for c in await page.context.cookies()}
