from soapbus.cli import main

main()
