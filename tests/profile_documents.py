"""Realistic documents of the nouns that complete the eleven interfaces, as the systems on each side
would send them (test data for tests/test_profiles_all_interfaces.py and tests/test_rest.py)."""
from __future__ import annotations


def ns(noun: str, year: int = 2011) -> str:
    return f"http://iec.ch/TC57/{year}/{noun}#"


UUID1 = "5d0c4a52-3f0e-4c55-a0a4-3c1b6e2f9d10"
UUID2 = "0b9e7f3c-6a2d-4d1e-9c8b-7a6f5e4d3c21"
METER = "7c2c8a8e-4b1f-4f43-9d0e-0a0c1e7d6a01"

# noun -> a full document: what a real exchange carries, every part of the compact profile used.
FULL = {
    "Outages": f"""
<Outages xmlns="{ns('Outages')}">
  <Outage>
    <mRID>{UUID1}</mRID>
    <cause>replacement of recloser R-12 on feeder 7</cause>
    <isPlanned>true</isPlanned>
    <actualPeriod><end>2024-03-05T14:10:00Z</end><start>2024-03-05T09:02:00Z</start></actualPeriod>
    <Equipments><mRID>recloser-R12</mRID><Names><name>R-12</name><NameType><name>SwitchName</name></NameType></Names>
    </Equipments>
    <Equipments><mRID>line-F7-S12</mRID></Equipments>
    <estimatedPeriod><end>2024-03-05T15:00:00Z</end><start>2024-03-05T09:00:00Z</start></estimatedPeriod>
    <Names><name>PO-2024-0311</name><NameType><name>PlannedOutageNumber</name></NameType></Names>
    <summary><criticalCount>2</criticalCount><totalCount>148</totalCount></summary>
    <SwitchingPlans><mRID>sp-2024-0311</mRID></SwitchingPlans>
    <UsagePoints><mRID>up-5501</mRID></UsagePoints>
    <UsagePoints><Names><name>UP-5502</name></Names></UsagePoints>
  </Outage>
</Outages>""",
    "Assets": f"""
<Assets xmlns="{ns('Assets')}">
  <Asset>
    <mRID>tx-4471</mRID>
    <critical>true</critical>
    <lotNumber>L-2019-33</lotNumber>
    <purchasePrice>18250.00</purchasePrice>
    <serialNumber>SN-77812</serialNumber>
    <type>distribution transformer, 50 kVA, pole-mounted</type>
    <utcNumber>UTC-0045-7781</utcNumber>
    <AssetContainer><mRID>pole-P4471</mRID></AssetContainer>
    <lifecycle><installationDate>2019-06-12</installationDate><manufacturedDate>2019-02-01</manufacturedDate>
      <purchaseDate>2019-03-15</purchaseDate><receivedDate>2019-04-02</receivedDate></lifecycle>
    <Location><mRID>loc-pole-4471</mRID></Location>
    <Names><name>T-4471</name><NameType><name>AssetTag</name></NameType></Names>
    <PowerSystemResources><mRID>pt-4471</mRID></PowerSystemResources>
    <ProductAssetModel><mRID>model-ABB-50kVA</mRID></ProductAssetModel>
    <status><dateTime>2019-06-12T10:00:00Z</dateTime><reason>commissioned</reason><value>inService</value></status>
  </Asset>
</Assets>""",
    "AssetModelCatalogues": f"""
<AssetModelCatalogues xmlns="{ns('AssetModelCatalogues')}">
  <AssetModelCatalogue>
    <mRID>cat-2024</mRID>
    <description>distribution transformers approved for 2024</description>
    <AssetModelCatalogueItems>
      <mRID>item-50kVA</mRID>
      <unitCost>4150.00</unitCost>
      <Names><name>DT-50-POLE</name></Names>
      <ProductAssetModel><mRID>model-ABB-50kVA</mRID><catalogueNumber>1LUS050</catalogueNumber>
        <corporateStandardKind>standard</corporateStandardKind><modelNumber>KP-50</modelNumber>
        <modelVersion>2</modelVersion><usageKind>distributionOverhead</usageKind>
        <Manufacturer><Names><name>ABB</name></Names></Manufacturer></ProductAssetModel>
    </AssetModelCatalogueItems>
    <AssetModelCatalogueItems><unitCost>5020.00</unitCost>
      <ProductAssetModel><corporateStandardKind>underEvaluation</corporateStandardKind><modelNumber>KP-75</modelNumber>
      </ProductAssetModel></AssetModelCatalogueItems>
    <Names><name>DT-CATALOGUE-2024</name></Names>
    <status><value>approved</value></status>
  </AssetModelCatalogue>
</AssetModelCatalogues>""",
    "DERGroups": f"""
<DERGroups xmlns="{ns('DERGroups')}">
  <EndDeviceGroup>
    <mRID>derg-feeder7-pv</mRID>
    <description>rooftop PV inverters on feeder 7</description>
    <DERFunction><connectDisconnect>true</connectDisconnect><maxRealPowerLimiting>true</maxRealPowerLimiting>
      <realPowerDispatch>true</realPowerDispatch><voltVarCurveFunction>true</voltVarCurveFunction></DERFunction>
    <DERMonitorableParameter><DERParameter>activePower</DERParameter><flowDirection>forward</flowDirection>
      <yMultiplier>k</yMultiplier><yUnit>W</yUnit><yUnitInstalledMax>420</yUnitInstalledMax>
      <yUnitInstalledMin>0</yUnitInstalledMin></DERMonitorableParameter>
    <DERMonitorableParameter><DERParameter>reactivePower</DERParameter><yMultiplier>k</yMultiplier><yUnit>VAr</yUnit>
    </DERMonitorableParameter>
    <EndDevices><mRID>inv-0001</mRID></EndDevices>
    <EndDevices><Names><name>INV-SN-88122</name><NameType><name>SerialNumber</name></NameType></Names></EndDevices>
    <Names><name>F7-PV</name></Names>
  </EndDeviceGroup>
</DERGroups>""",
    "DERGroupDispatches": f"""
<DERGroupDispatches xmlns="{ns('DERGroupDispatches')}">
  <DERGroupDispatch>
    <mRID>{UUID1}</mRID>
    <description>curtail feeder 7 PV during the evening ramp</description>
    <DERMonitorableParameter>
      <DERParameter>activePower</DERParameter><flowDirection>forward</flowDirection>
      <yMultiplier>k</yMultiplier><yUnit>W</yUnit>
      <DERCurveData><intervalNumber>1</intervalNumber><maxYValue>300</maxYValue><nominalYValue>250</nominalYValue></DERCurveData>
      <DERCurveData><intervalNumber>2</intervalNumber><nominalYValue>200</nominalYValue></DERCurveData>
      <DispatchSchedule><curveStyleKind>constantValue</curveStyleKind><numberOfIntervals>2</numberOfIntervals>
        <startTime>2024-03-05T17:00:00Z</startTime><timeIntervalDuration>15</timeIntervalDuration>
        <timeIntervalUnit>m</timeIntervalUnit></DispatchSchedule>
    </DERMonitorableParameter>
    <EndDeviceGroup><mRID>derg-feeder7-pv</mRID></EndDeviceGroup>
    <Names><name>DISPATCH-0305-1700</name></Names>
  </DERGroupDispatch>
</DERGroupDispatches>""",
    "DERGroupForecasts": f"""
<DERGroupForecasts xmlns="{ns('DERGroupForecasts')}">
  <DERGroupForecast>
    <mRID>{UUID2}</mRID>
    <predictionCreationDate>2024-03-05T06:00:00Z</predictionCreationDate>
    <DERMonitorableParameter>
      <DERParameter>activePower</DERParameter><flowDirection>forward</flowDirection><yMultiplier>k</yMultiplier>
      <yUnit>W</yUnit>
      <DERCurveData><intervalNumber>1</intervalNumber><maxYValue>380</maxYValue><minYValue>210</minYValue>
        <nominalYValue>310</nominalYValue><timeStamp>2024-03-05T12:00:00Z</timeStamp></DERCurveData>
      <DispatchSchedule><curveStyleKind>straightLineYValues</curveStyleKind><startTime>2024-03-05T12:00:00Z</startTime>
        <timeIntervalDuration>1</timeIntervalDuration><timeIntervalUnit>h</timeIntervalUnit></DispatchSchedule>
    </DERMonitorableParameter>
    <EndDeviceGroup><Names><name>F7-PV</name></Names></EndDeviceGroup>
    <Names><name>FC-F7-0305-06</name></Names>
  </DERGroupForecast>
</DERGroupForecasts>""",
    "MaintenanceOrders": f"""
<MaintenanceOrders xmlns="{ns('MaintenanceOrders')}">
  <MaintenanceOrder>
    <mRID>mo-2024-0088</mRID>
    <description>annual inspection of recloser R-12 and its control cabinet</description>
    <kind>inspection</kind>
    <requestDateTime>2024-02-20T08:00:00Z</requestDateTime>
    <statusKind>scheduled</statusKind>
    <Assets><mRID>recloser-R12</mRID></Assets>
    <Crews><Names><name>CREW-NORTH-3</name></Names></Crews>
    <Names><name>MO-2024-0088</name><NameType><name>WorkOrderNumber</name></NameType></Names>
    <priority><rank>3</rank><type>routine</type></priority>
    <TimeSchedules><kind>earliest</kind><scheduleInterval><start>2024-03-04T07:00:00Z</start></scheduleInterval></TimeSchedules>
    <TimeSchedules><kind>latest</kind><scheduleInterval><end>2024-03-29T17:00:00Z</end></scheduleInterval></TimeSchedules>
    <WorkLocation><mRID>loc-sub-north</mRID></WorkLocation>
    <WorkTasks><instruction>infrared scan, then open and inspect contacts</instruction><subject>inspect R-12</subject>
      <taskKind>investigate</taskKind><Assets><mRID>recloser-R12</mRID></Assets></WorkTasks>
  </MaintenanceOrder>
</MaintenanceOrders>""",
    "ServiceOrders": f"""
<ServiceOrders xmlns="{ns('ServiceOrders')}">
  <ServiceOrder>
    <mRID>so-2024-5512</mRID>
    <description>move-in: reconnect service and read the meter</description>
    <kind>reconnect</kind>
    <requestDateTime>2024-03-04T14:05:00-05:00</requestDateTime>
    <statusKind>dispatched</statusKind>
    <Customers><Names><name>ACCT-778812</name><NameType><name>AccountNumber</name></NameType></Names></Customers>
    <EndDevices><mRID>{METER}</mRID></EndDevices>
    <Names><name>SO-5512</name></Names>
    <priority><justification>customer move-in date</justification><rank>1</rank></priority>
    <UsagePoints><mRID>up-5501</mRID></UsagePoints>
    <WorkLocation><Names><name>17 Orchard Lane</name></Names></WorkLocation>
  </ServiceOrder>
</ServiceOrders>""",
    "Projects": f"""
<Projects xmlns="{ns('Projects')}">
  <Project>
    <mRID>prj-f7-ext</mRID>
    <budget>1250000.00</budget>
    <description>extend feeder 7 to the Orchard Lane development, 2.4 km of overhead line</description>
    <BusinessCase><mRID>bc-2024-07</mRID></BusinessCase>
    <Names><name>PRJ-2024-007</name><NameType><name>ProjectNumber</name></NameType></Names>
    <ParentProject><mRID>prj-north-growth</mRID></ParentProject>
    <status><dateTime>2024-01-15T00:00:00Z</dateTime><value>approved</value></status>
    <SubProjects><mRID>prj-f7-ext-civil</mRID></SubProjects>
    <Works><mRID>wr-f7-ext-1</mRID></Works>
    <Works><mRID>wr-f7-ext-2</mRID></Works>
  </Project>
</Projects>""",
    "Designs": f"""
<Designs xmlns="{ns('Designs')}">
  <Design>
    <mRID>dsg-f7-ext-a</mRID>
    <costEstimate>1180000.00</costEstimate>
    <description>alternative A: overhead along Orchard Lane</description>
    <kind>estimated</kind>
    <price>0</price>
    <ConditionFactors><Names><name>rock excavation</name></Names></ConditionFactors>
    <DesignLocations><mRID>dl-span-1</mRID></DesignLocations>
    <DesignLocations><mRID>dl-span-2</mRID></DesignLocations>
    <Names><name>F7-EXT-A</name></Names>
    <status><value>underReview</value></status>
    <Work><mRID>wr-f7-ext-1</mRID></Work>
  </Design>
</Designs>""",
    "CustomerAccounts": f"""
<CustomerAccounts xmlns="{ns('CustomerAccounts')}">
  <CustomerAccount>
    <mRID>acct-778812</mRID>
    <billingCycle>monthly, read day 12</billingCycle>
    <budgetBill>level-pay 140.00</budgetBill>
    <lastBillAmount>131.27</lastBillAmount>
    <Customer><mRID>cust-0042</mRID><Names><name>J. Doe</name></Names></Customer>
    <CustomerAgreements><mRID>agr-5501-res</mRID></CustomerAgreements>
    <Names><name>ACCT-778812</name><NameType><name>AccountNumber</name></NameType></Names>
    <status><dateTime>2021-08-01T00:00:00Z</dateTime><value>active</value></status>
  </CustomerAccount>
</CustomerAccounts>""",
    "TroubleTickets": f"""
<TroubleTickets xmlns="{ns('TroubleTickets')}">
  <TroubleTicket>
    <mRID>tt-2024-030512</mRID>
    <comment>caller says the whole street is dark, heard a bang</comment>
    <dateTimeOfReport>2024-03-05T18:11:00-05:00</dateTimeOfReport>
    <firstResponderStatus>dispatched</firstResponderStatus>
    <multiplePremises>true</multiplePremises>
    <reportingKind>call</reportingKind>
    <resolvedDateTime>2024-03-05T21:40:00-05:00</resolvedDateTime>
    <troubleCode>OUT</troubleCode>
    <Customer><mRID>cust-0042</mRID></Customer>
    <Incident><mRID>inc-0305-7</mRID></Incident>
    <Names><name>TT-030512</name></Names>
    <UnplannedOutage><mRID>out-0305-7</mRID></UnplannedOutage>
  </TroubleTicket>
</TroubleTickets>""",
    "MeterServiceRequests": f"""
<MeterServiceRequests xmlns="{ns('MeterServiceRequests')}">
  <MeterServiceWork>
    <mRID>msr-2024-0142</mRID>
    <description>exchange a failed meter</description>
    <kind>service</kind>
    <requestDateTime>2024-03-05T08:15:00Z</requestDateTime>
    <statusKind>approved</statusKind>
    <Customer><mRID>cust-0042</mRID></Customer>
    <Meter><serialNumber>SN-00067890</serialNumber></Meter>
    <Names><name>MSR-0142</name></Names>
    <OldMeter><mRID>{METER}</mRID><serialNumber>SN-00012345</serialNumber></OldMeter>
    <UsagePoint><mRID>up-5501</mRID></UsagePoint>
  </MeterServiceWork>
</MeterServiceRequests>""",
    "UsagePoints": f"""
<UsagePoints xmlns="{ns('UsagePoints')}">
  <UsagePoint>
    <mRID>up-5501</mRID>
    <amiBillingReady>enabled</amiBillingReady>
    <connectionState>connected</connectionState>
    <isSdp>true</isSdp>
    <isVirtual>false</isVirtual>
    <phaseCode>s12N</phaseCode>
    <readCycle>12</readCycle>
    <readRoute>R-044</readRoute>
    <servicePriority>life support</servicePriority>
    <EndDevices><mRID>{METER}</mRID></EndDevices>
    <Names><name>UP-5501</name><NameType><name>ServicePointId</name></NameType></Names>
    <ServiceCategory><kind>electricity</kind></ServiceCategory>
    <ServiceLocation><mRID>sl-17-orchard</mRID></ServiceLocation>
    <UsagePointLocation><mRID>upl-5501</mRID></UsagePointLocation>
  </UsagePoint>
</UsagePoints>""",
    "LoadForecasts": f"""
<LoadForecasts xmlns="{ns('LoadForecasts')}">
  <LoadForecast>
    <mRID>LF-DA-20240306</mRID>
    <createdDateTime>2024-03-05T09:00:00Z</createdDateTime>
    <processType>A01</processType>
    <revisionNumber>1</revisionNumber>
    <type>A65</type>
    <Domain><mRID codingScheme="A01">10YDE-EON------1</mRID></Domain>
    <Names><name>day-ahead load, control area E.ON</name></Names>
    <timeInterval><end>2024-03-06T23:00:00Z</end><start>2024-03-05T23:00:00Z</start></timeInterval>
    <TimeSeries>
      <mRID>1</mRID><businessType>A04</businessType><curveType>A01</curveType><measurementUnit>MAW</measurementUnit>
      <objectAggregation>A01</objectAggregation>
      <outDomain><mRID codingScheme="A01">10YDE-EON------1</mRID></outDomain>
      <Period><resolution>PT60M</resolution>
        <Point><position>1</position><quantity>6120</quantity></Point>
        <Point><position>2</position><quantity>5987</quantity></Point>
        <timeInterval><end>2024-03-06T01:00:00Z</end><start>2024-03-05T23:00:00Z</start></timeInterval></Period>
    </TimeSeries>
  </LoadForecast>
</LoadForecasts>""",
    "EnergySchedules": f"""
<EnergySchedules xmlns="{ns('EnergySchedules')}">
  <EnergySchedule>
    <mRID>SCH-BRP17-20240306</mRID>
    <createdDateTime>2024-03-05T13:45:00Z</createdDateTime>
    <processType>A01</processType>
    <revisionNumber>3</revisionNumber>
    <type>A01</type>
    <Names><name>BRP17 day-ahead schedule</name></Names>
    <Sender><mRID codingScheme="A01">11XBRP-17------X</mRID></Sender>
    <timeInterval><end>2024-03-06T23:00:00Z</end><start>2024-03-05T23:00:00Z</start></timeInterval>
    <TimeSeries>
      <mRID>TS-EXPORT-1</mRID><businessType>A06</businessType><measurementUnit>MAW</measurementUnit>
      <product>8716867000016</product>
      <inDomain><mRID codingScheme="A01">10YFR-RTE------C</mRID></inDomain>
      <outDomain><mRID codingScheme="A01">10YDE-EON------1</mRID></outDomain>
      <Period><resolution>PT15M</resolution><Point><position>1</position><quantity>150</quantity></Point>
        <timeInterval><end>2024-03-05T23:15:00Z</end><start>2024-03-05T23:00:00Z</start></timeInterval></Period>
    </TimeSeries>
  </EnergySchedule>
</EnergySchedules>""",
    "Bids": f"""
<Bids xmlns="{ns('Bids')}">
  <Bid>
    <mRID>BID-BSP4-20240306-01</mRID>
    <createdDateTime>2024-03-05T10:00:00Z</createdDateTime>
    <revisionNumber>1</revisionNumber>
    <type>A37</type>
    <Bidder><mRID codingScheme="A01">11XBSP-4-------Q</mRID></Bidder>
    <BidTimeSeries>
      <mRID>offer-up-1</mRID><businessType>B74</businessType><currency>EUR</currency><divisible>A01</divisible>
      <flowDirection>A01</flowDirection><measurementUnit>MAW</measurementUnit><priceMeasureUnit>MWH</priceMeasureUnit>
      <Period><resolution>PT15M</resolution>
        <Point><position>1</position><price>87.50</price><quantity>12</quantity></Point>
        <Point><position>2</position><price>91.00</price><quantity>12</quantity></Point>
        <timeInterval><end>2024-03-06T00:30:00Z</end><start>2024-03-06T00:00:00Z</start></timeInterval></Period>
    </BidTimeSeries>
    <Domain><mRID codingScheme="A01">10YDE-EON------1</mRID></Domain>
    <Names><name>BSP4 aFRR up</name></Names>
    <timeInterval><end>2024-03-06T00:30:00Z</end><start>2024-03-06T00:00:00Z</start></timeInterval>
  </Bid>
</Bids>""",
    "MarketPrices": f"""
<MarketPrices xmlns="{ns('MarketPrices')}">
  <MarketPrice>
    <mRID>PRICES-DA-DE-20240306</mRID>
    <createdDateTime>2024-03-05T12:42:00Z</createdDateTime>
    <currency>EUR</currency>
    <priceMeasureUnit>MWH</priceMeasureUnit>
    <revisionNumber>1</revisionNumber>
    <type>A44</type>
    <Domain><mRID codingScheme="A01">10Y1001A1001A82H</mRID></Domain>
    <Names><name>day-ahead prices DE-LU</name></Names>
    <timeInterval><end>2024-03-06T23:00:00Z</end><start>2024-03-05T23:00:00Z</start></timeInterval>
    <TimeSeries>
      <businessType>A62</businessType>
      <Period><resolution>PT60M</resolution>
        <Point><position>1</position><price>72.31</price></Point>
        <Point><position>2</position><price>-3.05</price></Point>
        <timeInterval><end>2024-03-06T01:00:00Z</end><start>2024-03-05T23:00:00Z</start></timeInterval></Period>
    </TimeSeries>
  </MarketPrice>
</MarketPrices>""",
    "ComplianceEvents": f"""
<ComplianceEvents xmlns="{ns('ComplianceEvents')}">
  <ComplianceEvent>
    <mRID>ce-2024-014</mRID>
    <createdDateTime>2024-03-05T22:00:00Z</createdDateTime>
    <deadline>2024-03-06T18:11:00-05:00</deadline>
    <reason>148 customers without supply for more than 12 hours would breach the guaranteed standard</reason>
    <severity>high</severity>
    <type>guaranteed standard of performance: restoration within 24 h</type>
    <Assets><mRID>recloser-R12</mRID></Assets>
    <Names><name>CE-014</name></Names>
    <status><value>open</value></status>
  </ComplianceEvent>
</ComplianceEvents>""",
    "UnavailabilityReports": f"""
<UnavailabilityReports xmlns="{ns('UnavailabilityReports')}">
  <UnavailabilityReport>
    <mRID>UNAV-G4-20240305</mRID>
    <createdDateTime>2024-03-05T07:55:00Z</createdDateTime>
    <docStatus>A05</docStatus>
    <processType>A26</processType>
    <revisionNumber>1</revisionNumber>
    <type>A80</type>
    <Names><name>G4 forced outage</name></Names>
    <Reason><code>B18</code><text>boiler feed pump trip</text></Reason>
    <RegisteredResource><mRID codingScheme="A01">11WD8-UNIT-G4-X</mRID><Names><name>Unit G4</name></Names></RegisteredResource>
    <timeInterval><end>2024-03-07T00:00:00Z</end><start>2024-03-05T07:30:00Z</start></timeInterval>
    <TimeSeries>
      <businessType>A54</businessType><measurementUnit>MAW</measurementUnit>
      <Period><resolution>PT60M</resolution><Point><position>1</position><quantity>0</quantity></Point>
        <timeInterval><end>2024-03-05T08:30:00Z</end><start>2024-03-05T07:30:00Z</start></timeInterval></Period>
    </TimeSeries>
  </UnavailabilityReport>
</UnavailabilityReports>""",
}

# The 2015 editions of the I4 orders (61968-6:2015): a container of Work.
FULL_2015 = {
    "MaintenanceOrders": f"""
<MaintenanceOrders xmlns="{ns('MaintenanceOrders', 2015)}">
  <MaintenanceOrder>
    <mRID>{UUID1}</mRID>
    <Names><name>MO-2024-0088</name></Names>
    <Organisation><mRID>{UUID2}</mRID><Names><name>Asset Management North</name></Names>
      <phone1><localNumber>555-0134</localNumber></phone1></Organisation>
    <Work>
      <mRID>{METER}</mRID><kind>inspection</kind><requestDateTime>2024-02-20T08:00:00Z</requestDateTime>
      <statusKind>scheduled</statusKind>
      <priority><rank>3</rank></priority>
      <TimeSchedules><kind>earliest</kind><scheduleInterval><start>2024-03-04T07:00:00Z</start></scheduleInterval>
      </TimeSchedules>
      <WorkTasks><subject>inspect R-12</subject><taskKind>investigate</taskKind><Crews><mRID>{UUID2}</mRID></Crews></WorkTasks>
    </Work>
  </MaintenanceOrder>
</MaintenanceOrders>""",
    "ServiceOrders": f"""
<ServiceOrders xmlns="{ns('ServiceOrders', 2015)}">
  <ReadingType><mRID>0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0</mRID><unit>Wh</unit></ReadingType>
  <ServiceOrder>
    <mRID>{UUID2}</mRID>
    <Names><name>SO-5512</name></Names>
    <Work><kind>reconnect</kind><statusKind>dispatched</statusKind>
      <TimeSchedules><kind>request</kind><scheduleInterval><start>2024-03-06T08:00:00-05:00</start></scheduleInterval>
      </TimeSchedules>
      <WorkLocation><mainAddress><streetDetail><name>Orchard Lane</name><number>17</number></streetDetail></mainAddress>
      </WorkLocation></Work>
  </ServiceOrder>
</ServiceOrders>""",
}


def minimal(noun: str, item: str, year: int = 2011) -> str:
    """The least a document of the noun can say: one object, by mRID."""
    mrid = UUID1 if year >= 2015 else "obj-1"
    return f'<{noun} xmlns="{ns(noun, year)}"><{item}><mRID>{mrid}</mRID></{item}></{noun}>'
