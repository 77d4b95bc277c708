"""What route handlers receive: the process's services and the authenticated caller."""

from typing import Annotated

from fastapi import Depends, Request

from api.principals import Principal
from api.services import Services


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def principal(request: Request) -> Principal:
    return await services(request).authenticator.principal(request)


ServicesDep = Annotated[Services, Depends(services)]
PrincipalDep = Annotated[Principal, Depends(principal)]
